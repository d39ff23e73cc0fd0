// Which writing system a text is in, for two decisions: an answer in another script or language than its
// reference scores zero (Latin junk shares digits and a few letters with a Japanese reference, which character
// F1 would otherwise reward), and the report's language follows the references (Japanese or English).

/** Letter classes; digits, punctuation and symbols belong to none (they say nothing about the language). */
export type Script = 'japanese' | 'han' | 'hangul' | 'latin' | 'cyrillic' | 'other';

export interface ScriptCounts {
  kana: number;
  han: number;
  hangul: number;
  latin: number;
  cyrillic: number;
  other: number;
}

export function countScripts(text: string): ScriptCounts {
  const c: ScriptCounts = { kana: 0, han: 0, hangul: 0, latin: 0, cyrillic: 0, other: 0 };
  for (const ch of text.normalize('NFKC')) {
    if (/\p{Script=Hiragana}|\p{Script=Katakana}/u.test(ch)) c.kana++;
    else if (/\p{Script=Han}/u.test(ch)) c.han++;
    else if (/\p{Script=Hangul}/u.test(ch)) c.hangul++;
    else if (/\p{Script=Latin}/u.test(ch)) c.latin++;
    else if (/\p{Script=Cyrillic}/u.test(ch)) c.cyrillic++;
    else if (/\p{L}/u.test(ch)) c.other++;
  }
  return c;
}

/** The script most of the letters are in (kana and kanji together are Japanese when any kana is present);
 *  null for a text without letters. */
export function dominantScript(text: string): Script | null {
  const c = countScripts(text);
  const cjk = c.kana + c.han;
  const ranked: [Script, number][] = [
    [c.kana > 0 ? 'japanese' : 'han', cjk], ['hangul', c.hangul], ['latin', c.latin], ['cyrillic', c.cyrillic], ['other', c.other],
  ];
  ranked.sort((a, b) => b[1] - a[1]);
  return ranked[0][1] > 0 ? ranked[0][0] : null;
}

/** Kanji-only texts this long without a single kana read as Chinese, not Japanese. */
const HAN_ONLY_SENTENCE = 8;

/**
 * Whether the answer is written in another script or language than the reference: both have letters and their
 * dominant scripts differ (Latin against Japanese, Hangul against Latin...). Kanji-only is Japanese enough for a
 * short answer (東京都港区); a kanji sentence of 8+ characters without kana against a kana reference is Chinese.
 */
export function scriptMismatch(answer: string, reference: string): boolean {
  const a = dominantScript(answer);
  const r = dominantScript(reference);
  if (a === null || r === null) return false;
  const cjk = (s: Script) => s === 'japanese' || s === 'han';
  if (cjk(a) && cjk(r)) return r === 'japanese' && a === 'han' && countScripts(answer).han >= HAN_ONLY_SENTENCE;
  return a !== r;
}

/** The report language the references are written in: Japanese when at least half of them are. */
export function languageOfTexts(texts: readonly string[]): 'ja' | 'en' {
  const scripts = texts.map(dominantScript).filter((s): s is Script => s !== null);
  const ja = scripts.filter((s) => s === 'japanese' || s === 'han').length;
  return scripts.length > 0 && ja * 2 >= scripts.length ? 'ja' : 'en';
}
