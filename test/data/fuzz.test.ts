// Property tests: whatever bytes or JSON arrive, the importers and the validator report problems
// instead of throwing, and the report's counts agree with its contents.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import ExcelJS from 'exceljs';
import { validate } from '../../src/data/validator.js';
import type { DataRecord } from '../../src/data/types.js';
import { check } from './helpers.js';

const NAMES = ['x.csv', 'x.tsv', 'x.jsonl', 'x.json', 'x.txt', 'x.md', 'x.xlsx', 'x'];

function consistent(r: Awaited<ReturnType<typeof check>>['report']): void {
  const errors = r.problems.filter((p) => p.severity === 'error').reduce((s, p) => s + p.count, 0);
  expect(r.errors).toBe(errors);
  expect(r.ok).toBe(errors === 0);
  expect(r.lengths.histogram.reduce((s, b) => s + b.count, 0)).toBe(r.examples);
  for (const p of r.problems) expect(p.occurrences.length).toBeLessThanOrEqual(p.count);
}

describe('never throws', () => {
  it('on arbitrary bytes, whatever the file name says', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...NAMES), fc.uint8Array({ maxLength: 300 }), async (name, bytes) => {
      consistent((await check(name, bytes)).report);
    }), { numRuns: 300 });
  });

  it('on damaged Excel files: zip-looking bytes, and a real workbook cut anywhere', async () => {
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('FAQ').addRows([['質問', '回答'], ['送料は？', '無料です。']]);
    const real = new Uint8Array(await wb.xlsx.writeBuffer());
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: real.length }), async (tail, cut) => {
      consistent((await check('x.xlsx', new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...tail]))).report);
      consistent((await check('x.xlsx', real.subarray(0, cut))).report);
    }), { numRuns: 60 });
  });

  it('on text made of the characters that matter to the parsers', async () => {
    const ch = fc.constantFrom(',', '"', '\n', '\r', '\t', '{', '}', '[', ']', ':', '\\', ' ', 'a', 'あ', '質問', '回答', '#', '```', '\uFEFF', '\uFFFD');
    await fc.assert(fc.asyncProperty(fc.constantFrom(...NAMES), fc.array(ch, { maxLength: 80 }).map((a) => a.join('')), async (name, text) => {
      consistent((await check(name, text)).report);
    }), { numRuns: 300 });
  });

  it('on arbitrary JSON values, one per line and as one document', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.jsonValue({ maxDepth: 4 }), { maxLength: 8 }), async (values) => {
      consistent((await check('x.jsonl', values.map((v) => JSON.stringify(v)).join('\n'))).report);
      consistent((await check('x.json', JSON.stringify(values))).report);
    }), { numRuns: 200 });
  });

  it('on arbitrary records, straight into the validator', () => {
    const turn = fc.record({ role: fc.oneof(fc.constantFrom('system', 'user', 'assistant', 'tool'), fc.string()), content: fc.string({ unit: 'binary', maxLength: 40 }) });
    const record: fc.Arbitrary<DataRecord> = fc.record({
      kind: fc.constantFrom('chat' as const, 'text' as const),
      messages: fc.array(turn, { maxLength: 5 }),
      text: fc.string({ unit: 'binary', maxLength: 60 }),
      loc: fc.record({ file: fc.constantFrom('a', 'b'), unit: fc.constantFrom('row' as const, 'line' as const), n: fc.nat() }),
      category: fc.option(fc.string({ maxLength: 4 })),
      split: fc.constantFrom('train' as const, 'val' as const),
    });
    fc.assert(fc.property(fc.array(record, { maxLength: 30 }), (recs) => {
      const { result } = validate(recs.map((r) => ({ kind: 'record' as const, record: r })), { countTokens: (r) => r.messages.length * 7, maxTokens: 20 });
      expect(result.examples).toBe(recs.length);
      expect(result.lengths.histogram.counts.reduce((s, c) => s + c, 0)).toBe(recs.length);
    }), { numRuns: 300 });
  });
});
