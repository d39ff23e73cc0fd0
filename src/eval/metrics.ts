// Answer-vs-reference metrics that work for Japanese (no spaces between words): normalisation, exact
// match, character-level F1 (SQuAD's token F1 with characters as tokens) and ROUGE-L on characters
// (Lin 2004, F1 of the longest common subsequence), plus the mean pairwise similarity of sampled answers.
// Both character scores are 0 for an answer in another script or language than the reference (script.ts).
import { scriptMismatch } from './script.js';

/**
 * The comparable form of an answer: Unicode NFKC (full-width ASCII and digits become half-width, half-width
 * katakana becomes full-width, compatibility characters fold), lower case, and no whitespace or punctuation
 * (Unicode category P: 。、「」！？ as well as .,!?).
 */
export function normalizeAnswer(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(/[\s\p{P}]/gu, '');
}

/** Code points of the normalised answer (a character outside the BMP counts once). */
export function answerChars(s: string): string[] {
  return Array.from(normalizeAnswer(s));
}

export function exactMatch(answer: string, reference: string): boolean {
  return normalizeAnswer(answer) === normalizeAnswer(reference);
}

function f1(overlap: number, predLen: number, refLen: number): number {
  if (predLen === 0 && refLen === 0) return 1;
  if (overlap === 0) return 0;
  const p = overlap / predLen;
  const r = overlap / refLen;
  return (2 * p * r) / (p + r);
}

/** F1 of the character multisets: overlap = sum over characters of min(count in answer, count in reference);
 *  0 when the answer is in another script or language than the reference. */
export function charF1(answer: string, reference: string): number {
  if (scriptMismatch(answer, reference)) return 0;
  const a = answerChars(answer);
  const b = answerChars(reference);
  const counts = new Map<string, number>();
  for (const c of b) counts.set(c, (counts.get(c) ?? 0) + 1);
  let overlap = 0;
  for (const c of a) {
    const n = counts.get(c) ?? 0;
    if (n > 0) {
      overlap++;
      counts.set(c, n - 1);
    }
  }
  return f1(overlap, a.length, b.length);
}

/** Length of the longest common subsequence (two-row dynamic programme, O(|a| |b|) time). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/** ROUGE-L F1 on the characters of the normalised texts: P = LCS / |answer|, R = LCS / |reference|; 0 when the
 *  answer is in another script or language than the reference. */
export function rougeLChars(answer: string, reference: string): number {
  if (scriptMismatch(answer, reference)) return 0;
  const a = answerChars(answer);
  const b = answerChars(reference);
  return f1(lcsLength(a, b), a.length, b.length);
}

/** Mean ROUGE-L (characters) over every unordered pair; null with fewer than two texts. */
export function meanPairwiseSimilarity(texts: readonly string[]): number | null {
  if (texts.length < 2) return null;
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < texts.length; i++) {
    for (let j = i + 1; j < texts.length; j++) {
      sum += rougeLChars(texts[i], texts[j]);
      pairs++;
    }
  }
  return sum / pairs;
}

/** Mean of the finite values; null when there are none. */
export function mean(values: readonly (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : null;
}
