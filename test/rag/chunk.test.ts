// The chunker's invariants over arbitrary documents: chunks are exact slices of the document text, stay
// within size, never cross a heading, cover all text, and overlap within a section.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunkBlocks, type Block } from '../../src/rag/index.js';

const sentence = fc.oneof(
  fc.constantFrom('有給休暇は年10日です。', '申請は3営業日前までに行います。', 'Refunds are accepted within 30 days. ', 'Lock your screen! '),
  fc.string({ minLength: 1, maxLength: 40 }).map((s) => s.replace(/\s/g, 'x')),
);
const block: fc.Arbitrary<Block> = fc.oneof(
  fc.record({ kind: fc.constant('heading' as const), text: fc.constantFrom('総則', 'Leave', '休暇'), level: fc.integer({ min: 1, max: 3 }) }),
  fc.array(sentence, { minLength: 1, maxLength: 30 }).map((ss) => ({ kind: 'text' as const, text: ss.join('') })),
  fc.record({ kind: fc.constant('row' as const), text: fc.constantFrom('品番: A / 価格: 1', 'Item: B / Qty: 2'), row: fc.integer({ min: 2, max: 99 }) }),
);

describe('chunkBlocks', () => {
  it('holds its invariants on arbitrary documents', () => {
    fc.assert(fc.property(fc.array(block, { maxLength: 12 }), fc.integer({ min: 40, max: 300 }), fc.integer({ min: 0, max: 60 }), (blocks, maxChars, overlap) => {
      const { text, chunks } = chunkBlocks(blocks, { maxChars, overlap });
      const covered = new Uint8Array(text.length);
      let prevEnd = -1;
      for (const c of chunks) {
        expect(c.text).toBe(text.slice(c.charStart, c.charEnd));
        expect(c.text.length).toBeLessThanOrEqual(maxChars + overlap);
        expect(c.charEnd).toBeGreaterThan(prevEnd); // in document order
        prevEnd = c.charEnd;
        for (let i = c.charStart; i < c.charEnd; i++) covered[i] = 1;
      }
      // every character of every text block lies in some chunk
      let pos = 0;
      for (const b of blocks) {
        if (b.kind !== 'heading') for (let i = pos; i < pos + b.text.length; i++) expect(covered[i]).toBe(1);
        pos += b.text.length + 2;
      }
    }), { numRuns: 200 });
  });

  it('never crosses a heading and records the heading path', () => {
    const blocks: Block[] = [
      { kind: 'heading', text: '就業規則', level: 1 },
      { kind: 'heading', text: '休暇', level: 2 },
      { kind: 'text', text: '有給休暇は年10日です。'.repeat(3) },
      { kind: 'heading', text: '在宅勤務', level: 2 },
      { kind: 'text', text: '週に2日までです。' },
    ];
    const { chunks } = chunkBlocks(blocks, { maxChars: 1000, overlap: 50 });
    expect(chunks.map((c) => [c.section, c.text])).toEqual([
      ['就業規則 > 休暇', '有給休暇は年10日です。'.repeat(3)],
      ['就業規則 > 在宅勤務', '週に2日までです。'],
    ]);
  });

  it('splits a long paragraph at sentence ends and repeats a tail of the previous chunk', () => {
    const s = ['第一の文です。', '第二の文です。', '第三の文です。', '第四の文です。', '第五の文です。'];
    const { chunks } = chunkBlocks([{ kind: 'text', text: s.join('') }], { maxChars: 16, overlap: 8 });
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks.slice(1)) expect(s.some((x) => c.text.startsWith(x))).toBe(true);
    expect(chunks[1].charStart).toBeLessThan(chunks[0].charEnd); // overlap
  });

  it('keeps each chunk on one page, and row ranges', () => {
    const { chunks } = chunkBlocks([
      { kind: 'text', text: 'Page one text.', page: 1 }, { kind: 'text', text: 'Page two text.', page: 2 },
      { kind: 'heading', text: 'Sheet1', level: 1 }, { kind: 'row', text: 'a: 1', row: 2 }, { kind: 'row', text: 'a: 2', row: 3 },
    ], { maxChars: 100, overlap: 0 });
    expect(chunks.map((c) => [c.pageStart, c.pageEnd, c.rowStart, c.rowEnd])).toEqual([[1, 1, null, null], [2, 2, null, null], [null, null, 2, 3]]);
  });
});
