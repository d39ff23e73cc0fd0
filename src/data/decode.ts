// Bytes to text for the importers: recognises non-text files (zip, old Excel, PDF, images, other
// binary), detects UTF-8 / UTF-16 / Shift_JIS (CP932) / EUC-JP, and decodes chunk by chunk.
import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import type { Issue } from './types.js';

/** What the first bytes say the file is. `text` files still need their encoding detected. */
export type Sniffed = { kind: 'text' } | { kind: 'zip' } | { kind: 'binary'; what: { en: string; ja: string } };

const MAGIC: [number[], string, string][] = [
  [[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], 'an old Excel (.xls) or other legacy Office file', '古い Excel（.xls）などの Office ファイル'],
  [[0x25, 0x50, 0x44, 0x46], 'a PDF document', 'PDF 文書'],
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image', 'PNG 画像'],
  [[0xff, 0xd8, 0xff], 'a JPEG image', 'JPEG 画像'],
  [[0x47, 0x49, 0x46, 0x38], 'a GIF image', 'GIF 画像'],
  [[0x1f, 0x8b], 'a gzip archive', 'gzip 圧縮ファイル'],
];

function startsWith(b: Uint8Array, sig: number[]): boolean {
  return b.length >= sig.length && sig.every((v, i) => b[i] === v);
}

/** Zero bytes at every other position: UTF-16 (LE: odd positions, BE: even) of mostly Latin text. */
function utf16Without(head: Uint8Array, n: number): 'utf-16le' | 'utf-16be' | null {
  let odd = 0;
  let even = 0;
  for (let i = 0; i + 1 < n; i += 2) {
    if (head[i] === 0) even++;
    if (head[i + 1] === 0) odd++;
  }
  const pairs = Math.floor(n / 2);
  if (pairs >= 2 && odd > pairs * 0.3 && even < pairs * 0.05) return 'utf-16le';
  if (pairs >= 2 && even > pairs * 0.3 && odd < pairs * 0.05) return 'utf-16be';
  return null;
}

/**
 * What the first bytes say the file is. `forced` is an encoding the user named: a 16-bit one is obeyed
 * (its text is full of zero bytes), so only a known binary signature can still refuse the file.
 */
export function sniff(head: Uint8Array, forced: string | null = null): Sniffed {
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) return { kind: 'zip' };
  for (const [sig, en, ja] of MAGIC) if (startsWith(head, sig)) return { kind: 'binary', what: { en, ja } };
  if (startsWith(head, [0xff, 0xfe]) || startsWith(head, [0xfe, 0xff])) return { kind: 'text' }; // UTF-16 with BOM
  if (forced !== null && /^utf-?(16|32)/i.test(forced)) return { kind: 'text' };
  // Control bytes never occur in text of any of the encodings read here (their trail bytes are >= 0x40). A
  // few (a stray NUL in one row) are reported where they are; many mean the file is not text.
  const n = Math.min(head.length, 8192);
  let ctrl = 0;
  for (let i = 0; i < n; i++) {
    const c = head[i];
    if (c === 0 || (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c && c !== 0x1b)) ctrl++;
  }
  if (n > 0 && ctrl > Math.max(2, n * 0.01)) {
    const u16 = utf16Without(head, n);
    if (u16) {
      return { kind: 'binary', what: { en: `${u16.toUpperCase()} text without a byte-order mark (pass --encoding ${u16} to read it)`,
        ja: `BOM のない ${u16.toUpperCase()} のテキスト（--encoding ${u16} を指定すると読めます）` } };
    }
    return { kind: 'binary', what: { en: 'binary data', ja: 'バイナリデータ' } };
  }
  return { kind: 'text' };
}

/** The canonical iconv-lite names used here, and how the report names them. */
export const ENCODING_NAMES: Record<string, string> = {
  'utf-8': 'UTF-8', 'utf-8-bom': 'UTF-8 (BOM)', cp932: 'Shift_JIS (CP932)', 'euc-jp': 'EUC-JP',
  'utf-16le': 'UTF-16LE', 'utf-16be': 'UTF-16BE',
};

/** Maps what users type (--encoding sjis, Shift-JIS, windows-31j, ...) onto a codec name. */
export function canonicalEncoding(name: string): string | null {
  const k = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (k === 'utf8' || k === 'utf8bom') return 'utf-8';
  if (['shiftjis', 'sjis', 'cp932', 'windows31j', 'ms932', 'mskanji'].includes(k)) return 'cp932';
  if (['eucjp', 'ujis'].includes(k)) return 'euc-jp';
  if (k === 'utf16le' || k === 'utf16') return 'utf-16le';
  if (k === 'utf16be') return 'utf-16be';
  return iconv.encodingExists(name) ? name : null;
}

/** Drops a multi-byte UTF-8 sequence cut by the end of a sample, so the rest can be validated. */
function trimPartialUtf8(b: Uint8Array): Uint8Array {
  for (let back = 1; back <= Math.min(3, b.length); back++) {
    const c = b[b.length - back];
    if ((c & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return need > back ? b.subarray(0, b.length - back) : b;
  }
  return b;
}

/** Penalty of a candidate decoding: lost characters weigh most; half-width kana hint at EUC read as SJIS. */
function penalty(text: string): { score: number; bad: number } {
  let bad = 0;
  let score = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0xfffd) bad++;
    else if (c >= 0xff61 && c <= 0xff9f) score += 2;
    else if ((c >= 0x3040 && c <= 0x30ff) || c === 0x3001 || c === 0x3002) score -= 1;
  }
  return { score: score + bad * 20, bad };
}

export interface Detected {
  encoding: string;
  /** Share of characters lost when decoding the sample with the chosen encoding (0 for valid UTF-8). */
  lostShare: number;
}

/** Picks the encoding of a text sample (`complete` when it is the whole file). */
export function detectEncoding(sample: Uint8Array, complete: boolean): Detected {
  if (startsWith(sample, [0xef, 0xbb, 0xbf])) return { encoding: 'utf-8-bom', lostShare: 0 };
  if (startsWith(sample, [0xff, 0xfe])) return { encoding: 'utf-16le', lostShare: 0 };
  if (startsWith(sample, [0xfe, 0xff])) return { encoding: 'utf-16be', lostShare: 0 };
  if (isUtf8(complete ? sample : trimPartialUtf8(sample))) return { encoding: 'utf-8', lostShare: 0 };
  let best: Detected = { encoding: 'utf-8', lostShare: 1 };
  let bestScore = Infinity;
  for (const enc of ['cp932', 'euc-jp']) {
    const text = iconv.decode(Buffer.from(sample.buffer, sample.byteOffset, sample.byteLength), enc);
    const p = penalty(text);
    if (p.score < bestScore) {
      bestScore = p.score;
      best = { encoding: enc, lostShare: text.length > 0 ? p.bad / text.length : 0 };
    }
  }
  return best;
}

/** A chunk-by-chunk decoder; strict UTF-8 reports the first invalid byte (its line within the chunk),
 *  then goes on leniently so the rest of the file is still read. */
export interface ChunkDecoder {
  write(chunk: Uint8Array): string;
  end(): string;
}

export function makeDecoder(encoding: string, onInvalid: (linesBefore: number) => void): ChunkDecoder {
  if (encoding === 'utf-8' || encoding === 'utf-8-bom') {
    let strict: TextDecoder | null = new TextDecoder('utf-8', { fatal: true });
    const lenient = new TextDecoder('utf-8');
    // the incomplete character at the end of the last chunk (buffered inside the strict decoder), so
    // the lenient decoder can take over from the same byte
    let carry = new Uint8Array(0);
    const run = (chunk: Uint8Array | undefined, last: boolean): string => {
      if (strict) {
        try {
          const text = last ? strict.decode(chunk) : strict.decode(chunk, { stream: true });
          if (chunk) {
            const whole = carry.length ? concat(carry, chunk) : chunk;
            carry = whole.slice(trimPartialUtf8(whole).length);
          }
          return text;
        } catch {
          strict = null;
          const input = chunk ? concat(carry, chunk) : carry;
          const text = last ? lenient.decode(input) : lenient.decode(input, { stream: true });
          const at = text.indexOf('\uFFFD');
          onInvalid(countNewlines(at >= 0 ? text.slice(0, at) : text));
          return text;
        }
      }
      return last ? lenient.decode(chunk) : lenient.decode(chunk, { stream: true });
    };
    return { write: (c) => run(c, false), end: () => run(undefined, true) };
  }
  const dec = iconv.getDecoder(encoding, { stripBOM: true });
  return {
    write: (c) => dec.write(Buffer.from(c.buffer, c.byteOffset, c.byteLength)),
    end: () => dec.end() ?? '',
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export interface DecodedText {
  encoding: string;
  /** Text chunks in order; decoding problems are pushed to `issues` as they are met. */
  chunks: Generator<string>;
}

/**
 * Decodes byte chunks into text chunks. The encoding comes from `forced` or is detected on `first`
 * (the first chunk; `complete` when it is the whole file). Text that is not valid in the chosen
 * encoding adds one bad_encoding issue at the line where it happens; decoding goes on, so every
 * other problem is still reported.
 */
export function decodeChunks(bytes: Iterable<Uint8Array>, first: Uint8Array, complete: boolean, file: string,
  forced: string | null, issues: Issue[]): DecodedText {
  const detected = forced ? { encoding: forced, lostShare: 0 } : detectEncoding(first, complete);
  const encoding = detected.encoding;
  let lines = 1;
  let reported = false;
  const report = (linesBefore: number): void => {
    if (reported) return;
    reported = true;
    issues.push({ code: 'bad_encoding', loc: { file, unit: 'line', n: lines + linesBefore }, params: { encoding: ENCODING_NAMES[encoding] ?? encoding } });
  };
  const dec = makeDecoder(encoding, report);
  // Legacy encodings decode anything; a sample that loses many characters in every candidate is not
  // text in any of them.
  const heavyLoss = detected.lostShare > 0.02;
  function* gen(): Generator<string> {
    for (const chunk of bytes) {
      const text = dec.write(chunk);
      if (heavyLoss && !reported) {
        const at = text.indexOf('\uFFFD');
        if (at >= 0) report(countNewlines(text.slice(0, at)));
      }
      lines += countNewlines(text);
      if (text) yield text;
    }
    const tail = dec.end();
    if (tail) yield tail;
  }
  return { encoding, chunks: gen() };
}

export function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
