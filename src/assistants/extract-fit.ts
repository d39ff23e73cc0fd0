// The memory-extraction call planned like a turn: it must fit the model's window too. The answer's tokens stay
// free, the facts already known go in newest first as far as they fit, and a message longer than the window is cut
// to its start (extraction reads what the user said first; the turn itself was planned on its own).
import { extractionMessages, EXTRACT_REPLY_TOKENS } from '../memory/index.js';
import type { ContextWindow } from './window.js';

export interface FittedExtraction {
  message: string;
  /** the known facts that fit, in their stored order */
  known: string[];
}

/** The largest n in [0, max] with ok(n), for ok true up to some n and false after (ok(0) assumed checked). */
function largest(max: number, ok: (n: number) => boolean): number {
  let lo = 0;
  let hi = max;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The extraction's message and known facts cut to the window, or null when not even its instructions fit. */
export function fitExtraction(window: ContextWindow, message: string, known: readonly string[]): FittedExtraction | null {
  const room = window.tokens - EXTRACT_REPLY_TOKENS;
  const fits = (m: string, k: readonly string[]) => window.countChat(extractionMessages(m, k)) <= room;
  if (!fits('', [])) return null;
  const chars = Array.from(message);
  const kept = fits(message, []) ? message : chars.slice(0, largest(chars.length, (n) => fits(chars.slice(0, n).join(''), []))).join('');
  if (kept.trim() === '') return null;
  const newestFirst = [...known].reverse();
  const n = largest(newestFirst.length, (k) => fits(kept, newestFirst.slice(0, k).reverse()));
  return { message: kept, known: newestFirst.slice(0, n).reverse() };
}
