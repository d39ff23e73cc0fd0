// Retrieval quality: recall@k over questions whose answers are known passages. A question counts as
// recalled when one of the top k hits comes from an expected file and contains the expected passage.
import path from 'node:path';
import { normalize } from './morph.js';
import { searchKb, type Hit, type SearchOptions } from './search.js';
import type { KnowledgeBase } from './store.js';

export interface Expected {
  /** file name (matched against the end of the indexed path) */
  file: string;
  /** exact text the hit must contain (compared after NFKC and whitespace folding) */
  passage: string;
}

export interface Question {
  id: number | string;
  lang?: string;
  question: string;
  expect: Expected[];
}

export interface RecallResult {
  k: number;
  recall: number;
  /** questions not recalled, with what came back first */
  misses: { id: number | string; question: string; top: string[] }[];
  byLang: Record<string, { n: number; recall: number }>;
}

const fold = (s: string): string => normalize(s).replace(/\s+/g, ' ').trim();

export function answers(h: Hit, expect: readonly Expected[]): boolean {
  const file = h.path.split(path.sep).join('/');
  return expect.some((e) => (file === e.file || file.endsWith(`/${e.file}`)) && fold(h.text).includes(fold(e.passage)));
}

export async function recallAtK(kb: KnowledgeBase, questions: readonly Question[], k: number, o: SearchOptions = {}): Promise<RecallResult> {
  const misses: RecallResult['misses'] = [];
  const lang: Record<string, { n: number; hit: number }> = {};
  let hits = 0;
  for (const q of questions) {
    const top = await searchKb(kb, q.question, { ...o, k });
    const ok = top.some((h) => answers(h, q.expect));
    const l = (lang[q.lang ?? '?'] ??= { n: 0, hit: 0 });
    l.n++;
    if (ok) {
      hits++;
      l.hit++;
    } else misses.push({ id: q.id, question: q.question, top: top.slice(0, 3).map((h) => `${path.basename(h.path)}: ${h.text.slice(0, 40)}`) });
  }
  const byLang = Object.fromEntries(Object.entries(lang).map(([key, v]) => [key, { n: v.n, recall: v.hit / v.n }]));
  return { k, recall: questions.length ? hits / questions.length : 0, misses, byLang };
}
