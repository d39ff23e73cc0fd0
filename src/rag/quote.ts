// Quoting decoding for grounded answers: while a reply follows one of the retrieved passages, the passage's
// next token is chosen whenever the model itself ranks it among its likely tokens, so a reply the model
// starts from a source continues as that source says it, word for word; where the model wants something
// else (its own words, the end of the turn, a citation, a refusal), the model decides. It is the span-copying
// idea of retrieval-augmented decoders (NEST, Li et al. 2024), verified by the model's own distribution,
// and it tells which passage the reply quoted (attribution).
import type { Sampler } from '../generate/index.js';

export interface QuoteOptions {
  /** a source token is taken while its probability is at least this share of the most likely token's */
  minRatio: number;
  /** ... and it is among the model's this many most likely tokens */
  topK: number;
  /** tokens a reply must share with a passage (its last tokens) before the passage leads; the first token
   *  of a passage's quotable text also starts a quote */
  minMatch: number;
}

export const QUOTE_DEFAULTS: QuoteOptions = { minRatio: 0.05, topK: 10, minMatch: 2 };

/** What the sampler followed: the passage index (in the order given) of the longest run it copied, or null. */
export interface QuoteTrace {
  source: number | null;
  /** tokens taken from passages */
  copied: number;
}

function softmaxRatio(logits: Float32Array, id: number, maxLogit: number): number {
  return Math.exp(logits[id] - maxLogit);
}

/** The candidates a passage offers after `gen`: the token after the longest suffix of `gen` found in it
 *  (at least minMatch long), or its first token while nothing has been generated. */
function candidates(passages: readonly number[][], gen: readonly number[], minMatch: number): { id: number; source: number; len: number }[] {
  const out: { id: number; source: number; len: number }[] = [];
  passages.forEach((p, s) => {
    if (gen.length === 0) {
      if (p.length) out.push({ id: p[0], source: s, len: 0 });
      return;
    }
    let best = 0;
    let next = -1;
    for (let end = 0; end < p.length; end++) {
      // longest common suffix of gen and p[..end]
      let n = 0;
      while (n <= end && n < gen.length && p[end - n] === gen[gen.length - 1 - n]) n++;
      if (n > best && end + 1 < p.length) {
        best = n;
        next = p[end + 1];
      }
    }
    // a reply that is the passage's beginning so far continues it even below minMatch
    const isPrefix = gen.length <= p.length && gen.every((t, i) => p[i] === t);
    if (isPrefix && gen.length < p.length) out.push({ id: p[gen.length], source: s, len: gen.length + 1000 });
    else if (next >= 0 && best >= minMatch) out.push({ id: next, source: s, len: best });
  });
  return out.sort((a, b) => b.len - a.len || a.source - b.source);
}

/**
 * Wraps a sampler. `passages`: the token ids of each passage's quotable text (for a FAQ entry, its answer),
 * in prompt order; `promptLength`: where the reply starts in the history the sampler is given.
 */
export function quotingSampler(base: Sampler, passages: readonly number[][], promptLength: number, o: QuoteOptions = QUOTE_DEFAULTS,
  trace: QuoteTrace = { source: null, copied: 0 }): Sampler {
  const runs = new Map<number, number>();
  return (logits, history) => {
    const gen = history.slice(promptLength);
    let max = -Infinity;
    for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
    // the model's topK threshold: the k-th largest logit
    const sorted = Float32Array.from(logits).sort();
    const kth = sorted[Math.max(0, sorted.length - o.topK)];
    for (const c of candidates(passages, gen, o.minMatch)) {
      if (logits[c.id] < kth || softmaxRatio(logits, c.id, max) < o.minRatio) continue;
      runs.set(c.source, (runs.get(c.source) ?? 0) + 1);
      trace.copied++;
      trace.source = [...runs.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
      return c.id;
    }
    return base(logits, history);
  };
}
