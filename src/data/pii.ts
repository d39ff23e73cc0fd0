// Personal data in text: e-mail addresses, Japanese and international phone numbers, credit card
// numbers that pass the Luhn check, and 12-digit My Numbers that pass their check digit; and redaction.

export type PiiKind = 'email' | 'phone' | 'card' | 'my_number';

export interface PiiHit {
  kind: PiiKind;
  start: number;
  end: number;
  value: string;
}

export const PLACEHOLDER: Record<PiiKind, string> = { email: '[EMAIL]', phone: '[PHONE]', card: '[CARD]', my_number: '[MY_NUMBER]' };

/**
 * Full-width ASCII to ASCII and dash look-alikes (including the long-vowel mark ー, often typed in
 * phone numbers) to '-', one character for one, so offsets in the folded text are offsets in the input.
 */
export function foldWidth(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xff01 && c <= 0xff5e) out += String.fromCharCode(c - 0xfee0);
    else if (c === 0x3000) out += ' ';
    else if ((c >= 0x2010 && c <= 0x2015) || c === 0x2212 || c === 0x30fc || c === 0xff70) out += '-';
    else out += s[i];
  }
  return out;
}

/** Luhn (mod 10) check, as used by every card number. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * My Number check digit (Cabinet Order on the Number Act, art. 8): with P_n the n-th digit from the
 * right of the first 11 and Q_n = n + 1 (n <= 6) or n - 5 (n >= 7), r = sum(P_n * Q_n) mod 11;
 * the check digit is 0 when r <= 1, else 11 - r.
 */
export function myNumberValid(digits: string): boolean {
  if (!/^\d{12}$/.test(digits)) return false;
  let sum = 0;
  for (let n = 1; n <= 11; n++) {
    const p = digits.charCodeAt(11 - n) - 48;
    sum += p * (n <= 6 ? n + 1 : n - 5);
  }
  const r = sum % 11;
  return digits.charCodeAt(11) - 48 === (r <= 1 ? 0 : 11 - r);
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const DIGIT_RUN = /(?<![\d-])\d(?:[ -]?\d){11,18}(?![\d-])/g;
const JP_PHONE = /(?<![\d+-])(?:\(0\d{1,4}\)\s?\d{1,4}-?\d{3,4}|0\d{1,4}[- ]?\(?\d{1,4}\)?[- ]?\d{3,4})(?![\d-])/g;
const INTL_PHONE = /(?<![\w+])\+\d{1,3}(?:[- ]?\(\d{1,4}\))?(?:[- ]?\d{1,4}){2,5}(?![\d-])/g;

function digitsOf(s: string): string {
  return s.replace(/\D/g, '');
}

/** Every hit, without overlaps (e-mail first, then cards and My Numbers, then phone numbers). */
/** Cheap tests that rule a text out before the full patterns run (most texts have no personal data). */
const MAYBE_EMAIL = /[@＠]/;

/** Every number pattern here has at least 8 digits. */
function fewDigits(s: string): boolean {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 0xff10 && c <= 0xff19)) n++;
    if (n >= 8) return false;
  }
  return true;
}

export function findPii(text: string): PiiHit[] {
  if (!MAYBE_EMAIL.test(text) && fewDigits(text)) return [];
  const folded = foldWidth(text);
  const hits: PiiHit[] = [];
  const free = (start: number, end: number): boolean => hits.every((h) => end <= h.start || start >= h.end);
  const add = (kind: PiiKind, start: number, end: number): void => {
    if (free(start, end)) hits.push({ kind, start, end, value: text.slice(start, end) });
  };
  for (const m of folded.matchAll(EMAIL)) add('email', m.index, m.index + m[0].length);
  // later patterns run on the text with earlier hits blanked out, so a number touching an address
  // ("...1111 1a@b.jp") is judged on its own digits, as it will stand once the address is redacted
  const blanked = () => hits.reduce((t, h) => t.slice(0, h.start) + '\u0000'.repeat(h.end - h.start) + t.slice(h.end), folded);
  for (const m of blanked().matchAll(DIGIT_RUN)) {
    const d = digitsOf(m[0]);
    if (d.length === 12 && /^\d{4}[ -]?\d{4}[ -]?\d{4}$/.test(m[0]) && myNumberValid(d)) add('my_number', m.index, m.index + m[0].length);
    else if (d.length >= 13 && luhnValid(d) && !/^0+$/.test(d)) add('card', m.index, m.index + m[0].length);
  }
  const rest = blanked();
  for (const m of rest.matchAll(JP_PHONE)) {
    const n = digitsOf(m[0]).length;
    if (n === 10 || n === 11) add('phone', m.index, m.index + m[0].length);
  }
  for (const m of rest.matchAll(INTL_PHONE)) {
    const n = digitsOf(m[0]).length;
    if (n >= 8 && n <= 15) add('phone', m.index, m.index + m[0].length);
  }
  return hits.sort((a, b) => a.start - b.start);
}

/** The text with every hit replaced by its placeholder, and how many were replaced; hits `keep` accepts
 *  (the company's own contacts) stay as they are. */
export function redactPii(text: string, keep: (h: PiiHit) => boolean = () => false): { text: string; count: number } {
  const hits = findPii(text).filter((h) => !keep(h));
  if (hits.length === 0) return { text, count: 0 };
  let out = '';
  let at = 0;
  for (const h of hits) {
    out += text.slice(at, h.start) + PLACEHOLDER[h.kind];
    at = h.end;
  }
  return { text: out + text.slice(at), count: hits.length };
}

/** A hit shown in a report: enough to find it, not the whole number (the report may be shared). */
export function maskValue(h: PiiHit): string {
  if (h.kind === 'email') {
    const at = h.value.indexOf('@');
    return `${h.value.slice(0, Math.min(2, at))}…${h.value.slice(at)}`;
  }
  const v = h.value;
  return v.length <= 4 ? v : `${v.slice(0, 3)}…${v.slice(-2)}`;
}
