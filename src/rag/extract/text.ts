// Plain text and Markdown: bytes decoded (UTF-8, UTF-16 with BOM, else Shift_JIS/CP932 as Japanese
// Windows writes it), then split into headings and paragraphs.
import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import type { Block, Extracted } from './types.js';

export function decodeText(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return b.subarray(3).toString('utf8');
  if (b[0] === 0xff && b[1] === 0xfe) return iconv.decode(b.subarray(2), 'utf16le');
  if (b[0] === 0xfe && b[1] === 0xff) return iconv.decode(b.subarray(2), 'utf16be');
  if (isUtf8(b)) return b.toString('utf8');
  return iconv.decode(b, 'cp932');
}

// Headings in plain Japanese and English documents: 第1章 / 第3条 / ■ / 【...】 / "1." "2.3" numbering /
// "Chapter 2", "Section 4".
const TEXT_HEADING: [RegExp, number][] = [
  [/^第[0-9０-９一二三四五六七八九十百]+[章部編]/, 1],
  [/^(Chapter|Part)\s+\d+/i, 1],
  [/^第[0-9０-９一二三四五六七八九十百]+[条節項]/, 2],
  [/^(Section|Article)\s+\d+/i, 2],
  [/^[■□◆◇●◎▼▽]\s*\S/, 2],
  [/^【[^】]{1,30}】$/, 2],
  [/^\d+(\.\d+)*[.．)]?\s+\S.{0,50}$/, 2],
];

function textHeadingLevel(line: string): number | null {
  const l = line.trim();
  if (l.length === 0 || l.length > 60 || /[。.!?！？、,]$/.test(l)) return null;
  for (const [re, level] of TEXT_HEADING) if (re.test(l)) return level;
  return null;
}

/** Paragraphs separated by blank lines; lines that look like headings become headings. `join` decides how
 *  a paragraph's lines are combined (kept as written for text files, rejoined for PDF pages). */
export function plainBlocks(text: string, join: (lines: string[]) => string, page?: number): Block[] {
  const blocks: Block[] = [];
  let para: string[] = [];
  const flush = () => {
    const t = join(para).trim();
    if (t) blocks.push(page === undefined ? { kind: 'text', text: t } : { kind: 'text', text: t, page });
    para = [];
  };
  for (const line of text.split(/\r\n|\r|\n/)) {
    const level = textHeadingLevel(line);
    if (level !== null) {
      flush();
      blocks.push({ kind: 'heading', text: line.trim(), level, ...(page === undefined ? {} : { page }) });
    } else if (line.trim() === '') flush();
    else para.push(line);
  }
  flush();
  return blocks;
}

export function parsePlain(bytes: Uint8Array): Extracted {
  return { blocks: plainBlocks(decodeText(bytes), (lines) => lines.join('\n')) };
}

/** Markdown: ATX (#) and setext (===, ---) headings, fenced code kept whole, front matter skipped. */
export function parseMarkdown(bytes: Uint8Array): Extracted {
  const lines = decodeText(bytes).split(/\r\n|\r|\n/);
  const blocks: Block[] = [];
  let para: string[] = [];
  let fence: string | null = null;
  const flush = () => {
    const t = para.join('\n').trim();
    if (t) blocks.push({ kind: 'text', text: t });
    para = [];
  };
  let i = 0;
  if (lines[0]?.trim() === '---') {
    const end = lines.indexOf('---', 1);
    if (end > 0) i = end + 1;
  }
  for (; i < lines.length; i++) {
    const line = lines[i];
    if (fence !== null) {
      para.push(line);
      if (line.trim().startsWith(fence)) {
        fence = null;
        flush();
      }
      continue;
    }
    const f = /^\s*(```|~~~)/.exec(line);
    const atx = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    const next = lines[i + 1] ?? '';
    if (f) {
      flush();
      fence = f[1];
      para.push(line);
    } else if (atx) {
      flush();
      blocks.push({ kind: 'heading', text: atx[2], level: atx[1].length });
    } else if (para.length === 0 && line.trim() !== '' && /^\s*(=+|-+)\s*$/.test(next) && !/^\s*[-*+]\s/.test(line)) {
      blocks.push({ kind: 'heading', text: line.trim(), level: next.trim().startsWith('=') ? 1 : 2 });
      i++;
    } else if (line.trim() === '') flush();
    else para.push(line);
  }
  flush();
  return { blocks };
}
