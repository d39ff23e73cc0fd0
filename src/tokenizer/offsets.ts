// Character offsets of the tokens of an encoded text: which characters of the text each token stands for.
// Training tokenizes a rendered conversation once and marks the tokens that overlap assistant spans, so it
// needs what the Rust tokenizers' offsets give and the JS tokenizer does not: each token's bytes (byte-level
// alphabet, SentencePiece "▁" and <0xNN> byte fallback, added tokens verbatim), aligned to the text's bytes.
import { isRecord } from '../io/safetensors-header.js';
import type { Json } from '../io/json-fields.js';

export interface TokenOffsets {
  /** first UTF-16 index of each token's text; a token the normalizer inserted (a lone "▁") has start == end */
  starts: Int32Array;
  /** one past its last UTF-16 index */
  ends: Int32Array;
}

/** How a tokenizer spells text in its vocabulary. */
export interface Spelling {
  byteLevel: boolean;
  /** the normalizer puts a "▁" before every piece of text between added tokens (Llama-2's Prepend) */
  prependsSpace: boolean;
  /** SentencePiece's word-boundary mark, read as a space (null: none) */
  spaceMark: string | null;
  byteFallback: boolean;
}

/** A component of tokenizer.json and, for a Sequence, its members. */
function components(node: unknown, out: Json[] = []): Json[] {
  if (!isRecord(node)) return out;
  out.push(node);
  for (const key of ['decoders', 'pretokenizers', 'normalizers']) {
    const list = node[key];
    if (Array.isArray(list)) for (const d of list) components(d, out);
  }
  return out;
}

/** Reads the spelling from tokenizer.json's decoder (and pre-tokenizer, which names ByteLevel too). */
export function spellingOf(tokJson: Json): Spelling {
  const parts = [...components(tokJson.decoder), ...components(tokJson.pre_tokenizer)];
  const byteLevel = parts.some((d) => d.type === 'ByteLevel');
  let spaceMark: string | null = null;
  for (const d of parts) {
    if (d.type === 'Metaspace') spaceMark = typeof d.replacement === 'string' ? d.replacement : '\u2581';
    const pattern = isRecord(d.pattern) ? d.pattern.String : undefined;
    if (d.type === 'Replace' && d.content === ' ' && typeof pattern === 'string') spaceMark = pattern;
  }
  const prependsSpace = components(tokJson.normalizer).some((n) => n.type === 'Prepend' && n.prepend === spaceMark);
  return { byteLevel, prependsSpace, spaceMark: byteLevel ? null : spaceMark, byteFallback: parts.some((d) => d.type === 'ByteFallback') };
}

/** GPT-2's byte <-> printable character table (bytes_to_unicode), inverted: character -> byte. */
function byteLevelTable(): Map<number, number> {
  const out = new Map<number, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    out.set(printable ? b : 256 + extra++, b);
  }
  return out;
}

const BYTE_LEVEL = byteLevelTable();
const encoder = new TextEncoder();

/** A function from token id to the bytes it stands for (null: unknown). Cached per id. */
export function surfaceOf(sp: Spelling, idToToken: (id: number) => string | null, added: ReadonlyMap<number, string>): (id: number) => Uint8Array | null {
  const cache = new Map<number, Uint8Array | null>();
  const compute = (id: number): Uint8Array | null => {
    const literal = added.get(id);
    // an added token stands for its text; Gemma's whitespace-run tokens ("▁▁") also come out of the model
    if (literal !== undefined) return encoder.encode(sp.spaceMark ? literal.replaceAll(sp.spaceMark, ' ') : literal);
    const piece = idToToken(id);
    if (piece === null) return null;
    if (sp.byteLevel) {
      const bytes: number[] = [];
      for (const ch of piece) {
        const b = BYTE_LEVEL.get(ch.codePointAt(0)!);
        if (b === undefined) return encoder.encode(piece); // not a byte-level spelling: take it as text
        bytes.push(b);
      }
      return Uint8Array.from(bytes);
    }
    const fallback = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
    if (fallback && sp.byteFallback) return Uint8Array.of(parseInt(fallback[1], 16));
    return encoder.encode(sp.spaceMark ? piece.replaceAll(sp.spaceMark, ' ') : piece);
  };
  return (id) => {
    if (!cache.has(id)) cache.set(id, compute(id));
    return cache.get(id)!;
  };
}

/** For each UTF-8 byte of `text`: the UTF-16 index of its character, and the index just after it. */
function byteToChar(text: string): { bytes: Uint8Array; at: Int32Array; after: Int32Array } {
  const bytes = encoder.encode(text);
  const at = new Int32Array(bytes.length + 1);
  const after = new Int32Array(bytes.length + 1);
  let b = 0;
  let c = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < n; k++, b++) {
      at[b] = c;
      after[b] = c + ch.length;
    }
    c += ch.length;
  }
  at[bytes.length] = c;
  after[bytes.length] = c;
  return { bytes, at, after };
}

const isSpaceByte = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d;

/**
 * Aligns the tokens' bytes with the text's bytes. Tolerated differences: spaces the normalizer inserted
 * (SentencePiece's prefix "▁"), and whitespace an added token's lstrip/rstrip swallowed. Anything else
 * (a normalizer that rewrites characters) returns null.
 */
export function alignOffsets(text: string, ids: readonly number[], surface: (id: number) => Uint8Array | null,
  sections: { prependsSpace: boolean; isAdded: (id: number) => boolean }): TokenOffsets | null {
  const { bytes, at, after } = byteToChar(text);
  const starts = new Int32Array(ids.length);
  const ends = new Int32Array(ids.length);
  let pos = 0;
  let sectionStart = true;
  for (let k = 0; k < ids.length; k++) {
    const s = surface(ids[k]);
    if (s === null) return null;
    const added = sections.isAdded(ids[k]);
    let first = -1;
    let last = -1;
    // a piece of text after an added token starts with the "▁" the normalizer put there, not with the text's space
    let j = sectionStart && !added && sections.prependsSpace && s[0] === 0x20 ? 1 : 0;
    sectionStart = added;
    while (j < s.length) {
      if (pos < bytes.length && bytes[pos] === s[j]) {
        if (first < 0) first = pos;
        last = pos++;
        j++;
      } else if (s[j] === 0x20) j++; // inserted by the normalizer: stands for no character
      else if (pos < bytes.length && isSpaceByte(bytes[pos])) pos++; // swallowed by an added token
      else return null;
    }
    starts[k] = first < 0 ? at[pos] : at[first];
    ends[k] = first < 0 ? at[pos] : after[last];
  }
  for (; pos < bytes.length; pos++) if (!isSpaceByte(bytes[pos])) return null;
  return { starts, ends };
}
