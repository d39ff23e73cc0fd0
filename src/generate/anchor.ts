// Source-anchored decoding ("quote"): while a reply is generated, tokens that continue a verbatim span of the
// sources in its prompt (the passages retrieval found; for a FAQ entry, its answer) get a logit bonus, so a
// model too small to copy well by itself quotes its sources instead of paraphrasing them into something else.
//
// The reply so far is matched against every source token by token. The tokens that follow the longest match
// (the span the reply is quoting: two tokens or more, or one that opens a quote) get the bonus. Where there is
// no such span (the reply's start, or after it left a span), a source's first token gets the bonus and the
// opening token of each of its sentences and lines half of it, so a reply can begin a quote; the tokens after
// a single token in common get half too. Sources come best first: each gets `decay`
// times the bonus of the one before. A source position already quoted earns nothing again (no loops), and a
// token holding a line break never earns it: where a quoted line ends, the model alone decides whether to
// stop, cite or go on. The model's own logits still choose among the anchored tokens and outweigh the bonus
// where they prefer another token by more than it. Strength 0 is plain decoding.
import { ShitateError } from '../errors.js';
import type { Sampler } from './sampler.js';

export interface AnchorOptions {
  /** each source's quotable text as token ids (encoded without special tokens), best source first */
  sources: readonly (readonly number[])[];
  /** the bonus in logits for a token that continues the quoted span; 0: off */
  strength: number;
  /** a token's text (to find line and sentence boundaries) */
  tokenText: (id: number) => string;
  /** each source after the first gets this share of the one before's bonus (default 0.5) */
  decay?: number;
  /** the longest match tracked, in tokens (default 64) */
  maxMatch?: number;
}

/** The strength `--quote` means when given without a number. */
export const DEFAULT_QUOTE_STRENGTH = 10;

/** The token before a sentence or line opening ends with one of these. */
const ENDS_SPAN = /[\n。．！？.!?][\s」』）)]*$|[:：]\s*$/;

export function checkQuoteStrength(v: number, where: string): number {
  if (!Number.isFinite(v) || v < 0 || v > 100) {
    throw new ShitateError('E_CONFIG', `${where}: expected a number from 0 to 100, found ${String(v)}`,
      `0 turns quoting off; ${DEFAULT_QUOTE_STRENGTH} makes a small model quote its sources`);
  }
  return v;
}

/** A match of the reply's end against a source: the source, the index after the matched span, its length. */
interface Match {
  src: number;
  next: number;
  len: number;
}

/** Anchors `inner` to sources; the first `promptLength` ids of the sampler's history are the prompt. */
export function anchoredSampler(inner: Sampler, promptLength: number, o: AnchorOptions): Sampler {
  checkQuoteStrength(o.strength, 'quote strength');
  if (o.strength === 0 || o.sources.every((s) => s.length === 0)) return inner;
  const decay = o.decay ?? 0.5;
  const maxMatch = o.maxMatch ?? 64;
  const weight = o.sources.map((_, i) => o.strength * decay ** i);
  const texts = new Map<number, string>();
  const text = (id: number): string => {
    let t = texts.get(id);
    if (t === undefined) texts.set(id, (t = o.tokenText(id)));
    return t;
  };
  const breaks = (id: number) => text(id).includes('\n');

  const where = new Map<number, Match[]>();
  const openings: { src: number; at: number; bonus: number }[] = [];
  const opensAt = o.sources.map((ids) => new Uint8Array(ids.length));
  o.sources.forEach((ids, src) => {
    ids.forEach((id, i) => {
      let list = where.get(id);
      if (!list) where.set(id, (list = []));
      list.push({ src, next: i + 1, len: 1 });
      const bonus = i === 0 ? weight[src] : ENDS_SPAN.test(text(ids[i - 1])) ? weight[src] / 2 : 0;
      if (bonus > 0 && !breaks(id)) {
        openings.push({ src, at: i, bonus });
        opensAt[src][i] = 1;
      }
    });
  });
  const quoted = o.sources.map((ids) => new Uint8Array(ids.length));

  // a span: two tokens or more in common, or one where a quote opens (a common token met alone is no span yet)
  const isSpan = (m: Match) => m.len >= 2 || opensAt[m.src][m.next - 1] === 1;

  let seen = promptLength;
  let live: Match[] = [];
  const advance = (id: number) => {
    const grown: Match[] = [];
    for (const m of live) {
      const ids = o.sources[m.src];
      if (m.next < ids.length && ids[m.next] === id) grown.push({ src: m.src, next: m.next + 1, len: Math.min(maxMatch, m.len + 1) });
    }
    live = grown.length > 0 ? grown : (where.get(id) ?? []).map((m) => ({ ...m }));
    // a position is used once it is part of a span, or where a quote began: a common token met alone is not
    for (const m of live) if (isSpan(m)) quoted[m.src][m.next - 1] = 1;
  };

  return (logits, history) => {
    for (; seen < history.length; seen++) advance(history[seen]);
    const bonus = new Map<number, number>();
    const give = (id: number, b: number) => {
      if (b > (bonus.get(id) ?? 0) && !breaks(id)) bonus.set(id, b);
    };
    // without a span the continuations of a common token met alone get half, beside the openings
    const spans = live.filter(isSpan);
    let best = 0;
    for (const m of spans) best = Math.max(best, m.len);
    const from = spans.length > 0 ? spans.filter((m) => m.len === best) : live;
    const share = spans.length > 0 ? 1 : 0.5;
    for (const m of from) {
      const ids = o.sources[m.src];
      if (m.next < ids.length && !quoted[m.src][m.next]) give(ids[m.next], weight[m.src] * share);
    }
    if (spans.length === 0) for (const op of openings) if (!quoted[op.src][op.at]) give(o.sources[op.src][op.at], op.bonus);
    if (bonus.size === 0) return inner(logits, history);
    const x = Float32Array.from(logits);
    for (const [id, b] of bonus) if (id < x.length) x[id] += b;
    return inner(x, history);
  };
}
