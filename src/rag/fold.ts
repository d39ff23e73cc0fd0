// Query and entry text folded so that spellings of the same thing compare equal before any analysis:
// NFKC and lower case (full/half width), kanji numerals before a counter as digits ("五千円" = "5000円"),
// thousands separators dropped ("5,500円" = "5500円"), counter variants (ヶ月/カ月/ヵ月/か月 -> か月), and
// for character features, hiragana as katakana with ヴ spelled as バ行 ("きゃんせる" = "キャンセル").
import { canonicalNumbers } from '../data/numbers.js';
import { normalize } from './morph.js';

const KANJI_DIGIT: Record<string, number> = { 〇: 0, 零: 0, 一: 1, 二: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };
const KANJI_UNIT: Record<string, number> = { 十: 10, 百: 100, 千: 1000 };
const KANJI_BIG: Record<string, number> = { 万: 1e4, 億: 1e8 };

/** Counters after which a kanji numeral is a number, not part of a word (一律, 一部 and 十分 stay words). */
const COUNTER = /^(?:円|日|か月|週間|週|年|時間|時|分|秒|回|個|件|点|枚|本|冊|台|名|人|歳|才|割|倍|営業日|か所|%|パーセント|ポイント|万|億)/;

/** The value of a run of kanji numerals ("五千" 5000, "十四" 14, "二万五千" 25000), or null. */
export function kanjiValue(run: string): number | null {
  let total = 0;
  let section = 0;
  let digit: number | null = null;
  for (const ch of run) {
    if (ch in KANJI_DIGIT) {
      // positional digits ("二〇二四") read left to right
      digit = digit === null ? KANJI_DIGIT[ch] : digit * 10 + KANJI_DIGIT[ch];
    } else if (ch in KANJI_UNIT) {
      section += (digit ?? 1) * KANJI_UNIT[ch];
      digit = null;
    } else if (ch in KANJI_BIG) {
      total += (section + (digit ?? 0) || 1) * KANJI_BIG[ch];
      section = 0;
      digit = null;
    } else return null;
  }
  return total + section + (digit ?? 0);
}

const KANJI_RUN = /[〇零一二三四五六七八九十百千万億]+/g;

/** Kanji numerals written as digits where a counter follows them ("十四日" -> "14日"). */
export function kanjiNumerals(s: string): string {
  return s.replace(KANJI_RUN, (run, at: number) => {
    const after = s.slice(at + run.length);
    const before = s[at - 1] ?? '';
    // a single 一 before a non-counter is nearly always a word (一律, 一度, 一緒); digits before mean 1万 etc.
    if (!COUNTER.test(after) || /\d/.test(before)) return run;
    if (/^[万億]+$/.test(run)) return run;
    const v = kanjiValue(run);
    return v === null ? run : String(v);
  });
}

/** The common form of text for every index feature: NFKC, lower case, numbers and counters folded. */
export function foldText(s: string): string {
  const n = normalize(s).replace(/(?<=[\d〇一二三四五六七八九十百千])[ヶヵカケヵ箇](?=月|所)/g, 'か');
  return canonicalNumbers(kanjiNumerals(n));
}

/** Hiragana as katakana, and the ヴ row as the バ row, for spelling-independent comparison. */
export function foldKana(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    out += c >= 0x3041 && c <= 0x3096 ? String.fromCodePoint(c + 0x60) : ch;
  }
  return out.replace(/ヴァ/g, 'バ').replace(/ヴィ/g, 'ビ').replace(/ヴェ/g, 'ベ').replace(/ヴォ/g, 'ボ').replace(/ヴ/g, 'ブ');
}
