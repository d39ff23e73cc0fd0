// Structure-aware chunking: a document's blocks become chunks that never cross a heading, break at
// paragraph or sentence ends, overlap their neighbours by a tail of text, and keep their source position
// (character range of the document text, heading path, page, rows). A FAQ row is a chunk of its own, whole.
import type { Block, EntryFields } from './extract/index.js';

export interface Chunk {
  seq: number;
  /** exactly documentText.slice(charStart, charEnd) */
  text: string;
  /** heading path, "Chapter > Section" ('' before the first heading) */
  section: string;
  pageStart: number | null;
  pageEnd: number | null;
  rowStart: number | null;
  rowEnd: number | null;
  charStart: number;
  charEnd: number;
  /** a FAQ entry's question and answer (null for passages) */
  fields: EntryFields | null;
}

export interface ChunkOptions {
  /** longest chunk in characters (a single longer sentence is cut) */
  maxChars: number;
  /** characters of the previous chunk repeated at the start of the next, within one section */
  overlap: number;
}

export const DEFAULT_CHUNKING: ChunkOptions = { maxChars: 600, overlap: 100 };

interface Piece {
  start: number;
  end: number;
  page: number | null;
  row: number | null;
}

/** Indices just after each sentence end in `s` (。！？!? and ". ", line breaks), closing brackets included. */
export function sentenceEnds(s: string): number[] {
  const out: number[] = [];
  const re = /[。！？!?．]+[」』）)"']*|\.(?=\s)|\n+/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    let e = m.index + m[0].length;
    while (e < s.length && s[e] === ' ') e++;
    if (e < s.length) out.push(e);
  }
  return out;
}

/** Splits [start, end) of the text into pieces of at most max characters at sentence ends. */
function splitLong(text: string, start: number, end: number, max: number): [number, number][] {
  const ends = sentenceEnds(text.slice(start, end)).map((e) => start + e);
  const out: [number, number][] = [];
  let from = start;
  while (end - from > max) {
    const fits = ends.filter((e) => e > from && e - from <= max);
    const cut = fits.length ? fits[fits.length - 1] : from + max;
    out.push([from, cut]);
    from = cut;
  }
  out.push([from, end]);
  return out;
}

/** Where the overlap may start: near `end - overlap`, moved forward to a sentence or word boundary. */
function overlapStart(text: string, floor: number, end: number, overlap: number): number {
  const want = Math.max(floor, end - overlap);
  if (want >= end) return end;
  const window = text.slice(want, end);
  const sent = sentenceEnds(text.slice(floor, end)).map((e) => floor + e).find((e) => e >= want && e < end);
  if (sent !== undefined) return sent;
  const space = window.search(/\s/);
  // CJK text has no spaces: start mid-sentence rather than drop the overlap
  return space >= 0 && space < window.length - 1 ? want + space + 1 : want;
}

export function documentText(blocks: readonly Block[]): { text: string; starts: number[] } {
  const starts: number[] = [];
  let pos = 0;
  for (const b of blocks) {
    starts.push(pos);
    pos += b.text.length + 2;
  }
  return { text: blocks.map((b) => b.text).join('\n\n'), starts };
}

export function chunkBlocks(blocks: readonly Block[], o: ChunkOptions = DEFAULT_CHUNKING): { text: string; chunks: Chunk[] } {
  const { text, starts } = documentText(blocks);
  const chunks: Chunk[] = [];
  const headings: { level: number; text: string }[] = [];
  let cur: Piece[] = [];
  let sectionStart = 0;
  let carry: number | null = null; // where the next chunk starts when it takes an overlap

  const emit = (keepOverlap: boolean) => {
    if (cur.length === 0) return;
    const first = cur[0];
    const last = cur[cur.length - 1];
    // the overlap never makes a chunk longer than maxChars + overlap (the separator before a block counts)
    const start = carry !== null && carry < first.start ? Math.max(carry, first.start - o.overlap) : first.start;
    const within = (f: (p: Piece) => number | null) => cur.map(f).filter((v): v is number => v !== null);
    const pages = within((p) => p.page);
    const rows = within((p) => p.row);
    chunks.push({
      seq: chunks.length, text: text.slice(start, last.end), section: headings.map((h) => h.text).join(' > '),
      pageStart: pages.length ? Math.min(...pages) : null, pageEnd: pages.length ? Math.max(...pages) : null,
      rowStart: rows.length ? Math.min(...rows) : null, rowEnd: rows.length ? Math.max(...rows) : null,
      charStart: start, charEnd: last.end, fields: null,
    });
    carry = keepOverlap && last.row === null && o.overlap > 0 ? overlapStart(text, sectionStart, last.end, o.overlap) : null;
    cur = [];
  };

  blocks.forEach((b, i) => {
    const start = starts[i];
    if (b.fields) {
      // one entry, one chunk: never merged with its neighbours, never cut, no overlap
      emit(false);
      carry = null;
      chunks.push({
        seq: chunks.length, text: b.text, section: headings.map((h) => h.text).join(' > '), pageStart: b.page ?? null, pageEnd: b.page ?? null,
        rowStart: b.row ?? null, rowEnd: b.row ?? null, charStart: start, charEnd: start + b.text.length, fields: b.fields,
      });
      return;
    }
    if (b.kind === 'heading') {
      emit(false);
      const level = b.level ?? 1;
      while (headings.length && headings[headings.length - 1].level >= level) headings.pop();
      headings.push({ level, text: b.text });
      sectionStart = start + b.text.length + 2;
      carry = null;
      return;
    }
    for (const [s, e] of splitLong(text, start, start + b.text.length, o.maxChars)) {
      const piece: Piece = { start: s, end: e, page: b.page ?? null, row: b.row ?? null };
      const from = cur.length ? (carry !== null && carry < cur[0].start ? carry : cur[0].start) : (carry ?? s);
      // a chunk stays on one page, so its citation names one page
      const newPage = cur.length > 0 && piece.page !== cur[cur.length - 1].page;
      if (cur.length && (e - from > o.maxChars || newPage)) emit(true);
      cur.push(piece);
    }
  });
  emit(false);
  return { text, chunks };
}
