// The reports: one message catalogue for every code in both languages, a self-contained HTML page that
// escapes user text, the terminal summary, and the language picked from --lang or the locale.
import { describe, expect, it } from 'vitest';
import { escapeHtml, renderHtml } from '../../src/data/html.js';
import { detectLang, MESSAGE_CODES, messageDetail, messageHint, messageTitle } from '../../src/data/messages.js';
import { renderTerminal } from '../../src/data/terminal.js';
import { check, cleanFaq, csv } from './helpers.js';

const EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>';

async function evilReport(lang: 'en' | 'ja') {
  const rows = [['質問', '回答', '分類'], ...cleanFaq(30), [EVIL, '', EVIL], [`${EVIL}2`, 'mail: a@b.jp', 'x']];
  return (await check(`${EVIL}.csv`, csv(rows), { lang })).report;
}

/** Every parameter name the validator and importers pass. */
const PARAMS = Object.fromEntries(['kind', 'encoding', 'what', 'reason', 'sheet', 'sheets', 'column', 'columns', 'flag', 'keys', 'chat', 'text',
  'count', 'min', 'found', 'expected', 'field', 'turn', 'role', 'previous', 'tokens', 'limit', 'value', 'sample', 'name', 'share', 'shares',
  'similarity', 'numbers', 'other', 'end', 'first', 'next', 'names',
  'pairs', 'labels', 'plain', 'side', 'desirable', 'undesirable', 'dlo', 'dhi', 'ulo', 'uhi'].map((k) => [k, 'V']));

describe('message catalogue', () => {
  it('has a title and a detail in both languages for every code, and fills every placeholder it is given', () => {
    for (const code of MESSAGE_CODES) {
      for (const lang of ['en', 'ja'] as const) {
        expect(messageTitle(code, lang), code).not.toBe('');
        const detail = messageDetail(code, lang, PARAMS, { file: 'f', unit: 'row', n: 3 });
        expect(detail, `${code} ${lang}`).not.toMatch(/\{\w+\}/);
        expect(typeof messageHint(code, lang)).toBe('string');
      }
      expect(messageTitle(code, 'ja')).not.toBe(messageTitle(code, 'en'));
    }
  });

  it('picks the language from --lang, then LC_ALL/LC_MESSAGES/LANG', () => {
    expect(detectLang('ja', { LANG: 'en_US.UTF-8' })).toBe('ja');
    expect(detectLang(undefined, { LANG: 'ja_JP.UTF-8' })).toBe('ja');
    expect(detectLang(undefined, { LC_ALL: 'en_GB.UTF-8', LANG: 'ja_JP.UTF-8' })).toBe('en');
    expect(detectLang(undefined, { LANG: 'de_DE.UTF-8' })).toBe('en');
  });
});

describe('HTML report', () => {
  it('is self-contained: inline CSS, no scripts, no external resources', async () => {
    const html = renderHtml(await evilReport('en'));
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<style>');
    expect(html).not.toMatch(/<(script|link|iframe|img|object|embed|base)\b/i); // no such tags at all
    expect(html).not.toMatch(/<[^>]*\s(src|href|on\w+)=/i); // and no attribute that loads or runs anything
    expect(html).not.toMatch(/@import|url\(|https?:\/\//);
  });

  it('escapes every piece of user text (file names, cells, categories)', async () => {
    const html = renderHtml(await evilReport('en'));
    expect(html).not.toContain('<img');
    expect(html).toContain(escapeHtml('<script>alert("x")</script>'));
    expect(escapeHtml(`<a href='x'>&</a>`)).toBe('&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('speaks Japanese or English as asked', async () => {
    const ja = renderHtml(await evilReport('ja'));
    const en = renderHtml(await evilReport('en'));
    expect(ja).toContain('<html lang="ja">');
    expect(ja).toContain(messageTitle('empty_answer', 'ja'));
    expect(ja).toContain('このままでは学習できません');
    expect(en).toContain(messageTitle('empty_answer', 'en'));
    expect(en).toContain('Not ready');
  });
});

describe('terminal summary', () => {
  it('lists files, lengths, problems with their rows and hints, and the verdict', async () => {
    const r = await evilReport('en');
    const text = renderTerminal(r);
    expect(text).toContain('csv, table, UTF-8');
    expect(text).toMatch(/row 32: the answer \(assistant turn\) is empty/);
    expect(text).toContain(messageHint('empty_answer', 'en'));
    // the verdict is the terminal's last line: the problems it points at are above it
    expect(text.trim().split('\n').pop()).toBe(`Not ready: fix the ${r.errors} error(s) above first.`);
  });

  it('points at the warnings above in the terminal and below in the HTML page, in both languages', async () => {
    const rows = [['質問', '回答', '分類'], ...cleanFaq(30), ['連絡先は？', 'taro@example.co.jp へどうぞ。', '配送']];
    const en = (await check('faq.csv', csv(rows), { lang: 'en' })).report;
    const ja = (await check('faq.csv', csv(rows), { lang: 'ja' })).report;
    expect(en.errors).toBe(0);
    const lastLine = (t: string) => t.trim().split('\n').pop();
    expect(lastLine(renderTerminal(en))).toBe(`Ready to train, but read the ${en.warnings} warning(s) above.`);
    expect(lastLine(renderTerminal(ja))).toBe(`学習に使えますが、上の警告（${ja.warnings} 件）を確認してください。`);
    expect(renderHtml(en)).toContain(`Ready to train, but read the ${en.warnings} warning(s) below.`);
    expect(renderHtml(ja)).toContain(`学習に使えますが、下の警告（${ja.warnings} 件）を確認してください。`);
  });

  it('says there is nothing to fix on clean data', async () => {
    const { report } = await check('ok.csv', csv([['質問', '回答', '分類'], ...cleanFaq(60)]), { lang: 'ja' });
    expect(renderTerminal(report).trim().split('\n').pop()).toBe('学習に使えます（止めるべきエラーはありません）。');
  });
});
