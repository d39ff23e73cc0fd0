// The company's own contacts: an allowlist (flag and YAML config) that check does not report as personal
// data, prepare --redact-pii leaves in place, and the report lists with how often each was found.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShitateError } from '../../src/errors.js';
import { findPii, redactPii } from '../../src/data/pii.js';
import { allowedBy, parseAllowlist, phoneKey } from '../../src/data/pii-allow.js';
import type { DataReport } from '../../src/data/report.js';
import { renderTerminal } from '../../src/data/terminal.js';
import { renderHtml } from '../../src/data/html.js';
import { check, cleanFaq, cli, codes, csv, problem, tempDir } from './helpers.js';

const allow = parseAllowlist(['03-1234-5678', 'info@acme.co.jp', '@acme-shop.jp']);
const kept = (text: string): string[] => findPii(text).filter((h) => allowedBy(h, allow) !== null).map((h) => h.value);

describe('allowlist', () => {
  it('matches the company phone number in every spelling, and only that number', () => {
    for (const p of ['03-1234-5678', '0312345678', '(03)1234-5678', '０３－１２３４－５６７８', '+81 3 1234 5678', '+81-(0)3-1234-5678']) {
      expect(kept(`お電話は${p}まで`), p).toEqual([p]);
    }
    expect(kept('お電話は03-1234-5679まで')).toEqual([]);
    expect(phoneKey('+81 90 1234 5678')).toBe('09012345678');
    expect(phoneKey('+1 (415) 555-2671')).toBe('+14155552671');
  });

  it('matches an address exactly (any case, full width) and a domain with its subdomains', () => {
    expect(kept('INFO@ACME.CO.JP と ｉｎｆｏ＠ａｃｍｅ．ｃｏ．ｊｐ')).toHaveLength(2);
    expect(kept('sales@acme.co.jp')).toEqual([]); // the address was allowed, not the domain
    expect(kept('shop@acme-shop.jp, a@mail.acme-shop.jp')).toEqual(['shop@acme-shop.jp', 'a@mail.acme-shop.jp']);
    expect(kept('x@notacme-shop.jp')).toEqual([]);
  });

  it('never allows card numbers or My Numbers, and refuses entries that are none of the three kinds', () => {
    expect(kept('4111 1111 1111 1111 / 123456789018')).toEqual([]);
    expect(() => parseAllowlist(['ACME Corp'])).toThrow(ShitateError);
    expect(() => parseAllowlist(['12-34'])).toThrow(/e-mail address, a domain or a phone number/);
  });

  it('redaction keeps the allowed contacts and replaces the rest', () => {
    const r = redactPii('お電話は03-1234-5678、担当 090-1111-2222、info@acme.co.jp、tanaka@gmail.com', (h) => allowedBy(h, allow) !== null);
    expect(r.text).toBe('お電話は03-1234-5678、担当 [PHONE]、info@acme.co.jp、[EMAIL]');
    expect(r.count).toBe(2);
  });
});

function faqWithContacts(): string[][] {
  const rows = cleanFaq(40);
  for (let i = 0; i < 6; i++) rows[i][1] += ' お電話は03-1234-5678、メールは info@acme.co.jp まで。';
  rows[10][1] += ' 担当の携帯 090-1111-2222 へ。';
  return rows;
}

describe('check with an allowlist', () => {
  it('reports only the customers\' data and lists the allowed contacts with their counts', async () => {
    const body = csv([['質問', '回答', '分類'], ...faqWithContacts()]);
    const plain = (await check('faq.csv', body, { lang: 'en' })).report;
    expect(problem(plain, 'pii_phone')?.count).toBe(7);
    expect(problem(plain, 'pii_email')?.count).toBe(6);
    const r = (await check('faq.csv', body, { lang: 'en', validate: { piiAllow: allow } })).report;
    expect(problem(r, 'pii_phone')?.count).toBe(1);
    expect(codes(r)).not.toContain('pii_email');
    expect(r.piiAllow).toEqual(['03-1234-5678', 'info@acme.co.jp', '@acme-shop.jp']);
    expect(problem(r, 'pii_allowed')?.occurrences.map((o) => o.message)).toEqual([
      '03-1234-5678: found in 6 example(s); not reported as personal data and never redacted',
      'info@acme.co.jp: found in 6 example(s); not reported as personal data and never redacted',
      '@acme-shop.jp: found in 0 example(s); not reported as personal data and never redacted',
    ]);
    expect(renderTerminal(r)).toContain('Company contacts kept (allowlist)');
    expect(renderHtml(r)).toContain('03-1234-5678: found in 6 example(s)');
  });
});

describe('data prepare --redact-pii with the allowlist', () => {
  it('keeps the company number and address given by flag or YAML config, replaces the customer\'s', async () => {
    const dir = tempDir('shitate-pii-allow-');
    const file = path.join(dir, 'faq.csv');
    fs.writeFileSync(file, csv([['質問', '回答', '分類'], ...faqWithContacts()]));
    const yaml = path.join(dir, 'data.yaml');
    fs.writeFileSync(yaml, 'pii_allow:\n  - 03-1234-5678\n');
    const out = path.join(dir, 'out');
    const r = await cli(['data', 'prepare', file, '--out', out, '--redact-pii', '--val-ratio', '0', '--config', yaml, '--pii-allow', 'acme.co.jp', '--lang', 'ja']);
    expect(r.code, r.err).toBe(0);
    const lines = fs.readFileSync(path.join(out, 'train.jsonl'), 'utf8');
    expect(lines).toContain('お電話は03-1234-5678、メールは info@acme.co.jp まで。');
    expect(lines).not.toContain('[PHONE]、メール');
    expect(lines).toContain('担当の携帯 [PHONE] へ。');
    expect(lines).not.toContain('090-1111-2222');
    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as DataReport;
    expect(report.piiAllow).toEqual(['03-1234-5678', 'acme.co.jp']);
    expect(report.split?.redacted).toBe(1);
    expect(r.out).toContain('自社の連絡先（許可リスト）');
    const bad = await cli(['data', 'check', file, '--pii-allow', 'our company']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--pii-allow');
  });
});
