// One analysis of a text for retrieval: the folded text, its tokens with dictionary forms and readings, and
// the features the FAQ index scores — content words, their readings (so 取消し, 取り消し and とりけし meet),
// and character bigrams of the kana-folded text (so compounds split another way still overlap).
import { foldKana, foldText } from './fold.js';
import type { Morph } from './morph.js';

export interface Analyzed {
  /** foldText() of the input, spaces and punctuation removed */
  folded: string;
  /** dictionary forms of every token, in order (for phrase matching) */
  bases: string[];
  /** the readings of every token run together, in katakana (unknown words: their kana-folded spelling) */
  reading: string;
  /** dictionary forms of the content words */
  words: string[];
  /** readings of the content words (two characters or more) */
  readings: string[];
  /** character bigrams of the kana-folded text (a one-character text gives itself) */
  bigrams: string[];
  /** the kanji of the text, one by one: in Japanese a single kanji carries meaning (使い方 / 使う, 次回 / 次) */
  kanji: string[];
}

const SQUEEZE = /[\s\p{P}\p{S}]+/gu;

/** A reading cache: the reading of a dictionary form is the analyser's reading of that form alone. */
const baseReadings = new Map<string, string>();

function readingOf(m: Morph, base: string): string {
  let r = baseReadings.get(base);
  if (r === undefined) {
    r = m.tokens(base).map((k) => (k.reading && k.reading !== '*' ? k.reading : foldKana(k.surface_form))).join('');
    if (baseReadings.size > 50_000) baseReadings.clear();
    baseReadings.set(base, r);
  }
  return r;
}

export function bigramsOf(s: string): string[] {
  const cps = [...foldKana(s)];
  if (cps.length === 1) return cps;
  const out: string[] = [];
  for (let i = 0; i + 1 < cps.length; i++) out.push(cps[i] + cps[i + 1]);
  return out;
}

export function analyze(m: Morph, text: string): Analyzed {
  const f = foldText(text);
  const toks = m.tokens(f);
  const bases: string[] = [];
  const words: string[] = [];
  const readings: string[] = [];
  let reading = '';
  for (const k of toks) {
    const base = k.basic_form && k.basic_form !== '*' ? k.basic_form : k.surface_form;
    bases.push(base);
    reading += k.reading && k.reading !== '*' ? k.reading : foldKana(k.surface_form);
    if (!m.isContent(k)) continue;
    words.push(base);
    const r = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u.test(base) ? readingOf(m, base) : '';
    if ([...r].length >= 2) readings.push(r);
  }
  const folded = f.replace(SQUEEZE, '');
  return { folded, bases, reading, words, readings, bigrams: bigramsOf(folded), kanji: folded.match(/\p{Script=Han}/gu) ?? [] };
}
