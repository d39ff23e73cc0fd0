// Hostile data files: XLSX zip bombs (huge, lying about their size, or with too many entries) are refused
// with the numbers before anything is inflated past the limit, which is configurable; BOM-less UTF-16 is
// read when --encoding names it (and the refusal says how otherwise); a stray quote that swallows the next
// CSV row is reported with both rows and the damaged row left out; a NUL is reported at its row and never
// written; one example is "1 example".
import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { checkZip, DEFAULT_ZIP_LIMITS } from '../../src/data/zip-guard.js';
import { manyEntries, xlsxBomb } from '../helpers/zip-bomb.js';
import { check, cleanFaq, codes, csv, problem, tempDir, where } from './helpers.js';

const MB = 1024 * 1024;

async function workbook(rows: string[][]): Promise<Uint8Array> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('FAQ');
  for (const r of rows) ws.addRow(r);
  return new Uint8Array(await wb.xlsx.writeBuffer());
}

describe('zip bombs in XLSX', () => {
  it('refuses an archive that declares 1 GB, one that lies about it, and one with 20,000 entries, with the numbers', async () => {
    const honest = await check('bomb.xlsx', xlsxBomb(1024));
    expect(codes(honest.report)).toEqual(['archive_too_large']);
    expect(problem(honest.report, 'archive_too_large')!.occurrences[0].message).toMatch(/unpacks to 1\.0 GB, more than the limit of 256\.0 MB/);
    const liar = await check('liar.xlsx', xlsxBomb(1024, true), { import: { zipLimits: { maxBytes: 16 * MB, maxEntries: 100 } } });
    expect(problem(liar.report, 'archive_too_large')!.occurrences[0].message).toMatch(/unpacks to more than the limit of 16\.0 MB \(its directory claims less/);
    const many = await check('many.xlsx', manyEntries(20_000));
    expect(problem(many.report, 'archive_too_large')!.occurrences[0].message).toMatch(/holds 20000 entries, more than the limit of 10000/);
  });

  it('never inflates more than the limit to find out', async () => {
    const before = process.memoryUsage().rss;
    const r = await checkZip(xlsxBomb(2048, true), DEFAULT_ZIP_LIMITS);
    expect(r).toMatchObject({ what: 'bytes', measured: true, limit: 256 * MB });
    expect(r!.found).toBeLessThan(257 * MB); // counting stopped just past the limit, out of 2 GB
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * MB); // counted, not kept
  });

  it('reads genuine workbooks, and the limit is configurable (option and SHITATE_ZIP_MAX_MB)', async () => {
    const bytes = await workbook([['質問', '回答'], ...cleanFaq(30).map((r) => r.slice(0, 2))]);
    expect((await check('faq.xlsx', bytes)).report.files[0].records).toBe(30);
    const tight = await check('faq.xlsx', bytes, { import: { zipLimits: { maxBytes: 1000, maxEntries: 100 } } });
    expect(codes(tight.report)).toEqual(['archive_too_large']);
    const dir = tempDir();
    const file = path.join(dir, 'faq.xlsx');
    fs.writeFileSync(file, bytes);
    process.env.SHITATE_ZIP_MAX_MB = '0.001';
    try {
      expect(await run(['data', 'check', file])).toBe(1);
    } finally {
      delete process.env.SHITATE_ZIP_MAX_MB;
    }
    expect(await run(['data', 'check', file])).toBe(0);
  });
});

describe('UTF-16 without a byte-order mark', () => {
  const text = csv([['question', 'answer'], ...cleanFaq(12).map((r) => r.slice(0, 2))]);
  it('is read when --encoding names it', async () => {
    for (const enc of ['utf-16le', 'utf-16be'] as const) {
      const r = await check('faq.csv', new Uint8Array(iconv.encode(text, enc, { addBOM: false })), { import: { encoding: enc } });
      expect(r.report.errors, enc).toBe(0);
      expect(r.report.files[0]).toMatchObject({ records: 12, encoding: enc === 'utf-16le' ? 'UTF-16LE' : 'UTF-16BE' });
    }
  });

  it('without --encoding, the refusal says which encoding to pass', async () => {
    const r = await check('faq.csv', new Uint8Array(iconv.encode('question,answer\nhello,world\nhow are you,fine\n', 'utf-16le', { addBOM: false })));
    expect(problem(r.report, 'binary_file')!.occurrences[0].message).toMatch(/UTF-16LE text without a byte-order mark \(pass --encoding utf-16le/);
  });
});

describe('a stray quote that swallows the next row', () => {
  const faq = cleanFaq(8).map((r) => r.slice(0, 2));
  const lines = ['question,answer', ...faq.map((r) => r.join(','))];

  it('is reported on its row with both rows shown, and the damaged row left out (closed by a later quoted cell)', async () => {
    const bad = [...lines];
    bad[3] = `${faq[2][0]},"${faq[2][1]}`; // opening quote never closed on its own row
    bad[6] = `${faq[5][0]},"${faq[5][1]}"`; // the next quote closes it, and the cell text runs on
    const r = await check('faq.csv', bad.join('\n') + '\n');
    expect(where(r.report, 'quote_merge')).toEqual([4]);
    const detail = problem(r.report, 'quote_merge')!.occurrences[0].message;
    expect(detail).toContain(`this row reads "${faq[2][0]},"${faq[2][1]}"`);
    expect(detail).toContain(`the next row "${faq[3].join(',')}"`);
    expect(r.report.files[0].records).toBe(4); // rows 4-7 became one row, which is left out
    expect(r.report.errors).toBeGreaterThan(0);
  });

  it('is reported when the quote closes cleanly but it is the only cell spanning lines and holds a whole row', async () => {
    const bad = [...lines];
    bad[3] = `${faq[2][0]},"${faq[2][1]}`;
    bad[4] = `${faq[3][0]},${faq[3][1]}"`;
    const r = await check('faq.csv', bad.join('\n') + '\n');
    expect(where(r.report, 'quote_merge')).toEqual([4]);
    expect(problem(r.report, 'quote_merge')!.occurrences[0].message).toContain(`the next row "${faq[3][0]},${faq[3][1]}"`);
  });

  it('leaves genuine multi-line answers alone', async () => {
    const rows = [['question', 'answer'], ...faq.map(([q, a], i) => [q, i % 2 ? `${a}\n手順: 1. 開く, 2. 保存` : a])];
    const r = await check('faq.csv', csv(rows));
    expect(codes(r.report)).not.toContain('quote_merge');
    expect(r.report.files[0].records).toBe(8);
    const one = await check('faq.csv', csv([['question', 'answer'], ...faq.map(([q, a], i) => [q, i === 3 ? `${a}\n(注意あり)` : a])]));
    expect(codes(one.report)).not.toContain('quote_merge');
  });
});

describe('NUL bytes in rows', () => {
  it('are reported at their row (not as a binary file at line 1) and removed from prepared data', async () => {
    const rows = [['question', 'answer'], ...cleanFaq(30).map((r) => r.slice(0, 2))];
    rows[5][1] = `${rows[5][1]}\u0000\u0000`;
    const r = await check('faq.csv', csv(rows));
    expect(codes(r.report)).not.toContain('binary_file');
    expect(where(r.report, 'control_chars')).toEqual([6]);
    expect(problem(r.report, 'control_chars')!.occurrences[0].message).toMatch(/contains 2 control characters \(NUL\)/);
    const dir = tempDir();
    const file = path.join(dir, 'faq.csv');
    fs.writeFileSync(file, csv(rows));
    expect(await run(['data', 'prepare', file, '--out', path.join(dir, 'out')])).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'out', 'train.jsonl'), 'utf8')).not.toContain('\\u0000');
  });
});

describe('leftovers of a crashed prepare', () => {
  it('removes OUTPUT.tmp-PID files of processes that are gone, and leaves a live writer\'s alone', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'faq.csv');
    fs.writeFileSync(file, csv([['question', 'answer'], ...cleanFaq(30).map((r) => r.slice(0, 2))]));
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    // above the kernel's pid limit, so no process has it (a finished child's pid may be reused at once)
    const dead = fs.existsSync('/proc/sys/kernel/pid_max') ? Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1 : 2 ** 22 + 1;
    fs.writeFileSync(path.join(out, `train.jsonl.tmp-${dead}`), 'half a line');
    fs.writeFileSync(path.join(out, `train.jsonl.tmp-${process.ppid}`), 'someone is writing this');
    expect(await run(['data', 'prepare', file, '--out', out])).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['report.html', 'report.json', 'train.jsonl', `train.jsonl.tmp-${process.ppid}`, 'val.jsonl'].sort());
  });
});

describe('counts in words', () => {
  it('says "1 example", not "1 examples"', async () => {
    const r = await check('one.csv', csv([['question', 'answer'], ['送料は？', '全国無料です。']]));
    const p = problem(r.report, 'too_few_error') ?? problem(r.report, 'too_few');
    expect(p!.occurrences[0].message).toMatch(/^only 1 example;/);
  });
});
