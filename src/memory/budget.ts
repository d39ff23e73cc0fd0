// Which remembered facts go into a prompt: the ones most related to the current message first (shared
// character bigrams, which works for Japanese and English alike), newer before older, within a token budget.
import type { MemoryItem } from './store.js';

function bigrams(s: string): Set<string> {
  const t = s.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ');
  const out = new Set<string>();
  for (let i = 0; i + 1 < t.length; i++) out.add(t.slice(i, i + 2));
  return out;
}

export function relatedness(fact: string, message: string): number {
  const a = bigrams(fact);
  const b = bigrams(message);
  if (a.size === 0 || b.size === 0) return 0;
  let shared = 0;
  for (const x of a) if (b.has(x)) shared++;
  return shared / Math.sqrt(a.size * b.size);
}

export interface Selected {
  items: MemoryItem[];
  /** the facts as prompt lines ("- fact") */
  text: string;
  tokens: number;
}

/** The facts that fit `budget` tokens, as "- fact" lines, best first. */
export function selectMemories(items: readonly MemoryItem[], message: string, budget: number, count: (t: string) => number): Selected {
  const ranked = [...items].sort((x, y) => relatedness(y.text, message) - relatedness(x.text, message) || y.id - x.id);
  const chosen: MemoryItem[] = [];
  const lines: string[] = [];
  let used = 0;
  for (const m of ranked) {
    const line = `- ${m.text}`;
    const cost = count(line + '\n');
    if (used + cost > budget) continue; // a shorter fact further down may still fit
    chosen.push(m);
    lines.push(line);
    used += cost;
  }
  return { items: chosen, text: lines.join('\n'), tokens: used };
}
