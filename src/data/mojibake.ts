// Garbled text from a wrong decoding somewhere upstream: UTF-8 read as Shift_JIS (縺/繧/繝...), UTF-8
// or Shift_JIS read as Latin-1/CP1252 (Ã©, ã‚, ‚ ‚¢), EUC-JP read as Shift_JIS (｢､ runs), stray control
// characters; and U+FFFD, the mark a decoder leaves where a character was lost.

/** UTF-8 lead bytes E3 80..E3 83 (Japanese punctuation, hiragana, katakana) read as CP932 kanji. */
const UTF8_AS_SJIS = /[縺繧繝縲]/g;
/** A UTF-8 lead byte as Latin-1/CP1252 followed by a continuation byte as the same. */
const UTF8_AS_LATIN = /[ÃÂâãäåæçèéêëìíîï][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]/;
/** Shift_JIS double bytes (lead 0x81-0x9F) as CP1252: ‚ and ƒ followed by a Latin-1 letter, three in a row. */
const SJIS_AS_LATIN = /(?:[\u201a\u0192\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152][\u0040-\u00ff\u0152-\u0178\u2018-\u201e]){3,}/;
/** EUC-JP read as Shift_JIS leaves runs of half-width katakana and half-width ｢｣､･ punctuation. */
const EUC_AS_SJIS = /[\uff61-\uff9f]{4,}/g;
/** C0 controls other than tab/newline/CR, DEL and the C1 range: never typed, left by broken conversions. */
function isControl(c: number): boolean {
  return (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || (c >= 0x7f && c <= 0x9f);
}

function firstControl(s: string): number {
  for (let i = 0; i < s.length; i++) if (isControl(s.charCodeAt(i))) return i;
  return -1;
}

/** A few characters around `at`, with control characters shown as � so a report stays printable. */
function around(s: string, at: number): string {
  return [...s.slice(Math.max(0, at - 6), at + 14)].map((ch) => (isControl(ch.charCodeAt(0)) ? '\uFFFD' : ch)).join('');
}

/** A short sample of garbled text, or null when the text looks clean. */
export function findMojibake(s: string): string | null {
  const sj = s.match(UTF8_AS_SJIS);
  if (sj && sj.length >= 2) return around(s, s.search(UTF8_AS_SJIS));
  for (const re of [UTF8_AS_LATIN, SJIS_AS_LATIN]) {
    const m = re.exec(s);
    if (m) return around(s, m.index);
  }
  const ctrl = firstControl(s);
  if (ctrl >= 0) return around(s, ctrl);
  for (const m of s.matchAll(EUC_AS_SJIS)) {
    const punct = m[0].match(/[\uff61-\uff65]/g);
    if (punct && punct.length >= 2) return around(s, m.index);
  }
  return null;
}

export function countReplacement(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\uFFFD'); i !== -1; i = s.indexOf('\uFFFD', i + 1)) n++;
  return n;
}
