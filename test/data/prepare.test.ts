// `prepare`: a deterministic, stratified, grouped split; de-duplication and PII redaction; outputs that
// `train` reads; refusal on errors; inputs never modified or overwritten; nothing half-written left.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { checkFiles } from '../../src/data/check.js';
import { prepare, type PrepareOptions } from '../../src/data/prepare.js';
import { verdict } from '../../src/data/report.js';
import { valTargets } from '../../src/data/split.js';
import { readRecords } from '../../src/train/dataset.js';
import { ShitateError } from '../../src/errors.js';
import { cleanFaq, csv, tempDir } from './helpers.js';

const HEAD = ['質問', '回答', '分類'];

function input(rows: string[][], name = 'faq.csv'): string {
  const dir = tempDir('shitate-prep-in-');
  const file = path.join(dir, name);
  fs.writeFileSync(file, iconv.encode(csv([HEAD, ...rows]), 'cp932'));
  return file;
}

async function run(file: string, o: Partial<PrepareOptions> = {}) {
  const outDir = o.outDir ?? tempDir('shitate-prep-out-');
  const c = await checkFiles([file], []);
  return { ...prepare(c, { outDir, valRatio: 0.2, seed: 42, dedup: false, redactPii: false, skipInvalid: false, ...o }), outDir };
}

const lines = (f: string): string[] => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l);
const sha = (f: string): string => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

describe('split', () => {
  it('targets add up to the ratio over all strata, with at least one validation example', () => {
    expect(valTargets([20, 20, 20], 0.1)).toEqual([2, 2, 2]);
    expect(valTargets([3, 3, 3, 3], 0.1).reduce((a, b) => a + b, 0)).toBe(1);
    expect(valTargets([5], 0.5)).toEqual([3]);
    expect(valTargets([1], 0.5)).toEqual([0]);
  });

  it('is the same for the same seed, different for another, and stratified by category', async () => {
    const file = input(cleanFaq(60));
    const a = await run(file);
    const b = await run(file);
    const c = await run(file, { seed: 7 });
    expect(fs.readFileSync(path.join(a.outDir, 'val.jsonl'), 'utf8')).toBe(fs.readFileSync(path.join(b.outDir, 'val.jsonl'), 'utf8'));
    expect(fs.readFileSync(path.join(a.outDir, 'val.jsonl'), 'utf8')).not.toBe(fs.readFileSync(path.join(c.outDir, 'val.jsonl'), 'utf8'));
    expect(a.report.split).toMatchObject({ train: 48, val: 12, stratifiedBy: 'category' });
    // each category (20 rows) gives 4 rows to validation
    const cat = new Map(cleanFaq(60).map(([q, , k]) => [q, k]));
    const valCats = lines(path.join(a.outDir, 'val.jsonl')).map((l) => cat.get((JSON.parse(l) as { messages: { content: string }[] }).messages[0].content));
    for (const k of ['配送', '返品', '支払い']) expect(valCats.filter((x) => x === k)).toHaveLength(4);
  });

  it('keeps duplicates and same-question pairs on one side, so validation never leaks', async () => {
    const rows = cleanFaq(60);
    const dupes = rows.slice(0, 15).map(([q, a, k]) => [q, a, k]);
    const conflicts = rows.slice(15, 25).map(([q, , k]) => [q, '別の回答です。規定が変わりました。', k]);
    const { outDir } = await run(input([...rows, ...dupes, ...conflicts]), { valRatio: 0.3 });
    const questions = (f: string): Set<string> => new Set(lines(f).map((l) => (JSON.parse(l) as { messages: { content: string }[] }).messages[0].content));
    const train = questions(path.join(outDir, 'train.jsonl'));
    const val = questions(path.join(outDir, 'val.jsonl'));
    expect(val.size).toBeGreaterThan(0);
    expect([...val].filter((q) => train.has(q))).toEqual([]);
  });
});

describe('outputs', () => {
  it('writes chat JSONL that train reads, and the reports', async () => {
    const { outDir, written, report } = await run(input(cleanFaq(60)));
    expect(written).toBe(true);
    const recs = readRecords(path.join(outDir, 'train.jsonl'));
    expect(recs).toHaveLength(48);
    expect(recs[0].mode).toBe('chat');
    expect(recs[0].messages?.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(fs.readdirSync(outDir).sort()).toEqual(['report.html', 'report.json', 'train.jsonl', 'val.jsonl']); // no temp files left
    expect(JSON.parse(fs.readFileSync(path.join(outDir, 'report.json'), 'utf8'))).toEqual(report);
    // and the written file passes the check itself, read back as OpenAI chat
    const again = await checkFiles([path.join(outDir, 'train.jsonl')], []);
    expect([again.report.errors, again.report.files[0].format, again.report.examples]).toEqual([0, 'openai', 48]);
  });

  it('writes {"text"} records for plain text', async () => {
    const dir = tempDir('shitate-prep-in-');
    const file = path.join(dir, 'manual.md');
    fs.writeFileSync(file, Array.from({ length: 12 }, (_, i) => `## 第${i + 1}章\n\n${'社内手続きの説明。'.repeat(i + 2)}章番号${i}。\n`).join('\n'));
    const { outDir, written } = await run(file);
    expect(written).toBe(true);
    expect(readRecords(path.join(outDir, 'train.jsonl'))[0].mode).toBe('text');
  });

  it('--dedup drops duplicates; --redact-pii replaces personal data', async () => {
    const rows = cleanFaq(60);
    const extra = [rows[0], rows[1], ['連絡先を教えて', '担当は suzuki@example.jp、電話は 03-1234-5678 です。', '配送']];
    const { outDir, report } = await run(input([...rows, ...extra]), { dedup: true, redactPii: true, valRatio: 0 });
    const all = fs.readFileSync(path.join(outDir, 'train.jsonl'), 'utf8');
    expect(lines(path.join(outDir, 'train.jsonl'))).toHaveLength(61);
    expect(all).toContain('担当は [EMAIL]、電話は [PHONE] です。');
    expect(all).not.toContain('suzuki@');
    expect(fs.existsSync(path.join(outDir, 'val.jsonl'))).toBe(false);
    expect(report.split).toMatchObject({ removedDuplicates: 2, redacted: 2 });
  });

  it('refuses to write training files while there are errors, unless told to skip them', async () => {
    const file = input([...cleanFaq(60), ['回答のない質問', '', '配送']]);
    const blocked = await run(file);
    expect(blocked.written).toBe(false);
    expect(fs.readdirSync(blocked.outDir).sort()).toEqual(['report.html', 'report.json']);
    const skipped = await run(file, { skipInvalid: true });
    expect(skipped.written).toBe(true);
    expect(skipped.report.split?.removedInvalid).toBe(1);
    expect(skipped.report.split!.train + skipped.report.split!.val).toBe(60);
    expect([verdict(blocked.report), verdict(skipped.report)]).toEqual(['verdictError', 'verdictSkipped']);
  });

  it('never modifies the input and refuses to write over it', async () => {
    const file = input(cleanFaq(60), 'train.jsonl.csv');
    const before = sha(file);
    const stat = fs.statSync(file);
    await run(file, { dedup: true, redactPii: true });
    expect(sha(file)).toBe(before);
    expect(fs.statSync(file).mtimeMs).toBe(stat.mtimeMs);
    const dir = tempDir('shitate-prep-in-');
    const jsonl = path.join(dir, 'train.jsonl');
    fs.writeFileSync(jsonl, cleanFaq(60).map(([q, a]) => JSON.stringify({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] })).join('\n'));
    const c = await checkFiles([jsonl], []);
    expect(() => prepare(c, { outDir: dir, valRatio: 0.1, seed: 1, dedup: false, redactPii: false, skipInvalid: false })).toThrow(ShitateError);
    expect(fs.readdirSync(dir)).toEqual(['train.jsonl']);
  });
});
