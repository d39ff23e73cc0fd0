// Ranking of question/answer entries (one per FAQ row) by fielded BM25 (BM25F, Robertson & Zaragoza 2009):
// the question field counts more than the answer, and each entry is scored on four kinds of feature —
// content words, their readings, related-term groups and character bigrams — each with its own weight, so
// a paraphrase that shares no word with the FAQ can still meet it through a reading, a group or a bigram.
import { analyze, type Analyzed } from './analyze.js';
import type { Morph } from './morph.js';
import { matchGroups, type CompiledGroup } from './synonyms.js';

export interface FaqEntryText {
  id: number;
  question: string;
  /** the answer, with any other columns of the row */
  answer: string;
}

type Kind = 'w' | 'y' | 'c' | 'b' | 'k';
const KINDS: readonly Kind[] = ['w', 'y', 'c', 'b', 'k'];

export interface FaqRanking {
  /** weight of each feature kind: words, readings, related-term groups, bigrams, single kanji */
  kinds: Record<Kind, number>;
  /** weight of a match in the question field against one in the answer field */
  question: number;
  answer: number;
  k1: number;
  b: number;
}

export const FAQ_RANKING: FaqRanking = { kinds: { w: 1, y: 0.5, c: 3, b: 0.35, k: 0.3 }, question: 2.5, answer: 1, k1: 1.2, b: 0.75 };

type Bag = Map<string, number>;

function bagOf(a: Analyzed, groups: readonly number[]): Record<Kind, Bag> {
  const bag = (xs: readonly string[]): Bag => {
    const m: Bag = new Map();
    for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
    return m;
  };
  return { w: bag(a.words), y: bag(a.readings), c: bag(groups.map(String)), b: bag(a.bigrams), k: bag(a.kanji) };
}

interface Doc {
  id: number;
  fields: [Record<Kind, Bag>, Record<Kind, Bag>];
  /** features of each kind in each field */
  lengths: [Record<Kind, number>, Record<Kind, number>];
}

const sizeOf = (b: Record<Kind, Bag>): Record<Kind, number> => {
  const out = { w: 0, y: 0, c: 0, b: 0, k: 0 };
  for (const k of KINDS) for (const n of b[k].values()) out[k] += n;
  return out;
};

export class FaqIndex {
  private readonly docs: Doc[] = [];
  private readonly df = new Map<string, number>();
  private readonly avg: [Record<Kind, number>, Record<Kind, number>];

  constructor(entries: readonly FaqEntryText[], private readonly morph: Morph, private readonly groups: readonly CompiledGroup[],
    private readonly r: FaqRanking = FAQ_RANKING) {
    const sums: [Record<Kind, number>, Record<Kind, number>] = [{ w: 0, y: 0, c: 0, b: 0, k: 0 }, { w: 0, y: 0, c: 0, b: 0, k: 0 }];
    for (const e of entries) {
      const q = analyze(morph, e.question);
      const a = analyze(morph, e.answer);
      const fields: Doc['fields'] = [bagOf(q, matchGroups(groups, q)), bagOf(a, matchGroups(groups, a))];
      const lengths: Doc['lengths'] = [sizeOf(fields[0]), sizeOf(fields[1])];
      this.docs.push({ id: e.id, fields, lengths });
      const seen = new Set<string>();
      for (const f of fields) for (const k of KINDS) for (const t of f[k].keys()) seen.add(`${k}:${t}`);
      for (const t of seen) this.df.set(t, (this.df.get(t) ?? 0) + 1);
      for (const i of [0, 1] as const) for (const k of KINDS) sums[i][k] += lengths[i][k];
    }
    const n = Math.max(1, entries.length);
    this.avg = [0, 1].map((i) => Object.fromEntries(KINDS.map((k) => [k, sums[i][k] / n || 1]))) as FaqIndex['avg'];
  }

  get size(): number {
    return this.docs.length;
  }

  /** The query's features: its analysis and the related-term groups it matches. */
  queryOf(query: string): { a: Analyzed; groups: number[] } {
    const a = analyze(this.morph, query);
    return { a, groups: matchGroups(this.groups, a) };
  }

  /** Entry ids best first with their scores (entries sharing no feature with the query are left out). */
  search(query: string, depth: number): { id: number; score: number }[] {
    const { a, groups } = this.queryOf(query);
    const q = bagOf(a, groups);
    const N = this.docs.length;
    const out: { id: number; score: number }[] = [];
    for (const d of this.docs) {
      let score = 0;
      let anchored = false;
      for (const k of KINDS) {
        for (const t of q[k].keys()) {
          const df = this.df.get(`${k}:${t}`);
          if (!df) continue;
          let tf = 0;
          for (const i of [0, 1] as const) {
            const n = d.fields[i][k].get(t);
            if (!n) continue;
            const norm = 1 - this.r.b + (this.r.b * d.lengths[i][k]) / this.avg[i][k];
            tf += ((i === 0 ? this.r.question : this.r.answer) * n) / norm;
          }
          if (tf === 0) continue;
          if (k !== 'b' && k !== 'k') anchored = true;
          const idf = Math.log(1 + (N - df + 0.5) / (df + 0.5));
          score += (this.r.kinds[k] * idf * tf) / (this.r.k1 + tf);
        }
      }
      // characters alone (bigrams, kanji) only rank entries that share a word, reading or group with the query
      if (score > 0 && anchored) out.push({ id: d.id, score });
    }
    out.sort((x, y) => y.score - x.score || x.id - y.id);
    return out.slice(0, depth);
  }
}
