// Text normalisation and hashing shared by the importers and the validator: cleaning cell text,
// folding text for matching (width, case, spaces, punctuation), and fast 32/53-bit string hashes.

/** Cell or field text as stored: CRLF/CR to LF, edges trimmed (spreadsheets add stray spaces). */
export function cleanText(s: string): string {
  return s.replace(/\r\n?/g, '\n').trim();
}

/** 1 for UTF-16 units that are punctuation, symbols or space (a table: a Unicode regex is ~10x slower). */
const DROP = ((): Uint8Array => {
  const t = new Uint8Array(65536);
  const re = /[\p{P}\p{S}\p{Z}\s]/u;
  for (let c = 0; c < 65536; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue; // surrogate halves: astral characters are kept
    if (re.test(String.fromCharCode(c))) t[c] = 1;
  }
  return t;
})();

/** Text folded for matching: NFKC (full-width → half-width), lower case, no spaces or punctuation. */
export function foldForMatch(s: string): string {
  return foldMatchNfkc(s.normalize('NFKC'));
}

/** foldForMatch of text that is already NFKC (saves normalising twice). */
export function foldMatchNfkc(nfkc: string): string {
  const n = nfkc.toLowerCase();
  let out = '';
  let start = 0;
  for (let i = 0; i < n.length; i++) {
    if (DROP[n.charCodeAt(i)] === 0) continue;
    if (i > start) out += n.slice(start, i);
    start = i + 1;
  }
  return start === 0 ? n : out + n.slice(start);
}

/** Text folded for exact comparison: NFKC, runs of white space to one space, trimmed. */
export function foldForExact(s: string): string {
  return foldExactNfkc(s.normalize('NFKC'));
}

export function foldExactNfkc(nfkc: string): string {
  return nfkc.replace(/\s+/g, ' ').trim();
}

/** 32-bit string hash (FNV-1a over UTF-16 units with a murmur3 finaliser), seeded. */
export function hash32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** murmur3's finaliser: spreads every input bit over the output. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 53-bit hash (two independent 32-bit ones), exact as a JS number: collisions ~1 in 10^15 pairs. */
export function hash53(s: string): number {
  const hi = hash32(s, 0x9e3779b9) & 0x1fffff;
  return hi * 0x100000000 + hash32(s, 0x7f4a7c15);
}
