// Numbers in FAQ text are facts: a price, a date or a count that differs makes a different answer. This
// reads the numbers of an (NFKC) text in one canonical form — thousands separators dropped ("1,000" = 1000),
// 万/千/百/億/兆 applied ("1万2千" = "1.2万" = 12000) — so checks can compare them exactly, and gives the
// text's wording with every number masked, to tell "same wording, different numbers".

/** 1,000 / 1,000.5 (separators in groups of three), or 1000 / 1.5 */
const NUMBER = /\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?/y;
const BIG: Record<string, bigint> = { 万: 10n ** 4n, 億: 10n ** 8n, 兆: 10n ** 12n };
const SMALL: Record<string, bigint> = { 十: 10n, 百: 10n ** 2n, 千: 10n ** 3n };
/** fixed-point scale of the exact arithmetic: six decimal places */
const SCALE = 6;
const ONE = 10n ** BigInt(SCALE);

/** "1,234.5" -> 1234500000n (x 10^6), exactly */
function fixed(raw: string): bigint {
  const [int, frac = ''] = raw.replace(/,/g, '').split('.');
  return BigInt(int) * ONE + BigInt((frac + '0'.repeat(SCALE)).slice(0, SCALE));
}

function format(v: bigint): string {
  const int = v / ONE;
  const frac = (v % ONE).toString().padStart(SCALE, '0').replace(/0+$/, '');
  return frac ? `${int}.${frac}` : `${int}`;
}

export interface NumberSpan {
  start: number;
  end: number;
  /** canonical value: "12000", "1.5"; a lone number with leading zeros keeps them ("03": a code, not 3) */
  value: string;
}

/** Reads one number expression at `at` (a digit): 1億2000万3000, 1.5万, 3千, 1,000. */
function readAt(s: string, at: number): NumberSpan {
  let total = 0n;
  let section = 0n;
  let i = at;
  let pieces = 0;
  let raw = '';
  for (;;) {
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(s);
    if (!m) break;
    raw = m[0];
    let v = fixed(m[0]);
    i += m[0].length;
    pieces++;
    const small = SMALL[s[i]];
    if (small !== undefined) { v *= small; i++; }
    const big = BIG[s[i]];
    if (big !== undefined) {
      total += (section + v) * big;
      section = 0n;
      i++;
      if (/\d/.test(s[i] ?? '')) continue; // 1万2000: the next piece belongs to the same number
      break;
    }
    section += v;
    if (small !== undefined && /\d/.test(s[i] ?? '')) continue; // 3千5百
    break;
  }
  const value = pieces === 1 && /^0\d/.test(raw) && total === 0n && i === at + raw.length ? raw : format(total + section);
  return { start: at, end: i, value };
}

/** Every number of the text, in order. */
export function findNumbers(nfkc: string): NumberSpan[] {
  const out: NumberSpan[] = [];
  for (let i = 0; i < nfkc.length; i++) {
    const c = nfkc.charCodeAt(i);
    if (c < 48 || c > 57) continue;
    const n = readAt(nfkc, i);
    out.push(n);
    i = n.end - 1;
  }
  return out;
}

/** The canonical numbers of the text, in order ("" when there are none). */
export function numbersKey(nfkc: string): string {
  return findNumbers(nfkc).map((n) => n.value).join(',');
}

/** The text with each number in its canonical form: "1,000円" and "1000円" read alike, "500円" and "520円" do not. */
export function canonicalNumbers(nfkc: string): string {
  return rewrite(nfkc, (n) => n.value);
}

/** The wording: the text with every number masked as "#". */
export function maskNumbers(nfkc: string): string {
  return rewrite(nfkc, () => '#');
}

function rewrite(s: string, f: (n: NumberSpan) => string): string {
  const nums = findNumbers(s);
  if (nums.length === 0) return s;
  let out = '';
  let at = 0;
  for (const n of nums) {
    out += s.slice(at, n.start) + f(n);
    at = n.end;
  }
  return out + s.slice(at);
}
