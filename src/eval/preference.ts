// Preference accuracy: on held-out pairs, how often the base and each adapter assign the chosen answer a higher
// likelihood (summed log-probability of its tokens, as DPO scores it) than the rejected one; also per token
// (length-normalised) and the mean margin, each difference from the base with a seeded paired bootstrap
// interval. Judgment files (KTO's "label") are paired per prompt: each desirable answer against each
// undesirable one. Adapters are attached to the same loaded weights in turn, never fused.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { loadAdapter } from '../lora/index.js';
import type { OpenedModel } from '../generate/index.js';
import type { CausalLM } from '../models/index.js';
import { noGrad } from '../tensor/index.js';
import { buildBatch, planEpoch, type BatchOptions, type Example } from '../train/batching.js';
import { sequenceLogps } from '../train/reference.js';
import { maskCompletion, promptKey, readPreferenceLines, type PrefLine } from '../train/preference-data.js';
import { isPreferenceObject, type PrefSide } from '../data/preference-format.js';
import { BOOTSTRAP_DEFAULTS, drawResamples, pairedInterval, type Interval } from './bootstrap.js';
import { systemsOf } from './run.js';

export interface EvalPair {
  source: string;
  chosen: Example;
  rejected: Example;
}

export interface PreferenceSystem {
  name: string;
  adapter: string | null;
  /** share of pairs whose chosen answer has the higher summed log-probability */
  accuracy: number;
  /** the same with log-probabilities averaged per token (answers of different lengths) */
  accuracyPerToken: number;
  /** mean of logp(chosen) - logp(rejected) */
  meanMargin: number;
  /** difference from the base in accuracy, with its 95% interval (null for the base) */
  vsBase: { accuracy: number; interval: Interval | null } | null;
  margins: number[];
}

export interface PreferenceReport {
  kind: 'preference';
  data: string;
  pairs: number;
  /** pairs left out because truncation to max_seq_len removed a completion */
  skipped: number;
  systems: PreferenceSystem[];
}

const MAX_PAIRS_PER_PROMPT = 16;

interface PairText {
  prompt: PrefSide;
  chosen: PrefSide;
  rejected: PrefSide;
  where: string;
}

/** Pairs from a pair file, or desirable x undesirable answers of one prompt from a judgment file. */
function pairLines(lines: PrefLine[]): PairText[] {
  const out: PairText[] = [];
  for (const { record: r, file, line } of lines) if (r.kind === 'pair') out.push({ prompt: r.prompt, chosen: r.chosen, rejected: r.rejected, where: `${file}:${line}` });
  if (lines[0].record.kind === 'pair') return out;
  const byPrompt = new Map<string, PrefLine[]>();
  for (const l of lines) byPrompt.set(promptKey(l.record.prompt), [...(byPrompt.get(promptKey(l.record.prompt)) ?? []), l]);
  for (const group of byPrompt.values()) {
    const good = group.filter((l) => l.record.kind === 'label' && l.record.label);
    const bad = group.filter((l) => l.record.kind === 'label' && !l.record.label);
    let n = 0;
    for (const g of good) {
      for (const b of bad) {
        if (n++ >= MAX_PAIRS_PER_PROMPT || g.record.kind !== 'label' || b.record.kind !== 'label') continue;
        out.push({ prompt: g.record.prompt, chosen: g.record.completion, rejected: b.record.completion, where: `${g.file}:${g.line}` });
      }
    }
  }
  if (out.length === 0) {
    throw new ShitateError('E_DATA', 'preference eval: expected a prompt judged both ways (one 👍 and one 👎 answer), found none',
      'preference accuracy compares answers to the same prompt: add judgments of other answers, or evaluate pairs {"prompt", "chosen", "rejected"}');
  }
  return out;
}

/** Tokenized pairs of a preference file; pairs cut to nothing by maxSeqLen are counted, not kept. */
export function readEvalPairs(file: string, opened: OpenedModel, maxSeqLen: number, limit: number | null = null): { pairs: EvalPair[]; skipped: number } {
  const raw = pairLines(readPreferenceLines(file));
  const kept = limit === null ? raw : raw.slice(0, limit);
  const pairs: EvalPair[] = [];
  let skipped = 0;
  const o = { templateVars: opened.templateVars };
  const cut = (mt: { ids: number[]; mask: number[] }): Example | null => {
    const ids = mt.ids.slice(0, maxSeqLen);
    const mask = mt.mask.slice(0, maxSeqLen);
    return mask.slice(1).some((m) => m === 1) ? { ids: Int32Array.from(ids), mask: Uint8Array.from(mask) } : null;
  };
  for (const p of kept) {
    const chosen = cut(maskCompletion(opened.tokenizer, p.prompt, p.chosen, opened.endIds, p.where, o));
    const rejected = cut(maskCompletion(opened.tokenizer, p.prompt, p.rejected, opened.endIds, p.where, o));
    if (chosen && rejected) pairs.push({ source: p.where, chosen, rejected });
    else skipped++;
  }
  return { pairs, skipped };
}

/** Summed completion log-probabilities of every sequence, in order (no grad). */
export function scoreSequences(model: CausalLM, seqs: Example[], b: BatchOptions): Float64Array {
  const out = new Float64Array(seqs.length);
  noGrad(() => {
    for (const rows of planEpoch(seqs.map((s) => s.ids.length), b, null)) {
      const lp = sequenceLogps(model, buildBatch(seqs, rows, { ...b, packing: false })).data;
      rows.forEach((r, k) => { out[r[0]] = lp[k]; });
    }
  });
  return out;
}

function targets(e: Example): number {
  let n = 0;
  for (let t = 1; t < e.mask.length; t++) n += e.mask[t];
  return Math.max(1, n);
}

function systemScores(model: CausalLM, pairs: EvalPair[], b: BatchOptions): { margins: number[]; perToken: number[] } {
  const lp = scoreSequences(model, [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)], b);
  const P = pairs.length;
  return {
    margins: pairs.map((_, i) => lp[i] - lp[P + i]),
    perToken: pairs.map((p, i) => lp[i] / targets(p.chosen) - lp[P + i] / targets(p.rejected)),
  };
}

const share = (xs: number[]) => xs.filter((x) => x > 0).length / Math.max(1, xs.length);

/** Scores the base and each adapter on the pairs. */
export function runPreferenceEval(opened: OpenedModel, adapters: string[], file: string, o: { maxSeqLen: number; limit: number | null; seed: number; resamples?: number }): PreferenceReport {
  const { pairs, skipped } = readEvalPairs(file, opened, o.maxSeqLen, o.limit);
  if (pairs.length === 0) throw new ShitateError('E_DATA', `${file}: expected pairs with completion tokens, found none after truncation to ${o.maxSeqLen}`, 'raise --max-seq-len');
  const b: BatchOptions = { batchTokens: 4096, packing: false, groupByLength: true, maxSeqLen: o.maxSeqLen, padId: opened.tokenizer.padTokenId ?? opened.endIds[0] ?? 0 };
  const systems: PreferenceSystem[] = [];
  const draws = drawResamples(pairs.length, { ...BOOTSTRAP_DEFAULTS, seed: o.seed, resamples: o.resamples ?? BOOTSTRAP_DEFAULTS.resamples });
  let base: number[] | null = null;
  for (const s of systemsOf(adapters)) {
    const lora = s.adapter ? loadAdapter(s.adapter, opened.model, false, { baseDir: opened.dir }) : null;
    try {
      const { margins, perToken } = systemScores(opened.model, pairs, b);
      const wins = margins.map((m) => (m > 0 ? 1 : 0));
      const accuracy = share(margins);
      const vsBase = base === null ? null : {
        accuracy: accuracy - share(base),
        interval: pairedInterval({ a: Float64Array.from(wins), b: Float64Array.from(base, (m) => (m > 0 ? 1 : 0)), w: new Float64Array(pairs.length).fill(1) }, draws, pairs.length, BOOTSTRAP_DEFAULTS.level),
      };
      base ??= margins;
      systems.push({ name: s.name, adapter: s.adapter, accuracy, accuracyPerToken: share(perToken), meanMargin: margins.reduce((x, y) => x + y, 0) / margins.length, vsBase, margins });
    } finally {
      lora?.detach();
    }
  }
  return { kind: 'preference', data: file, pairs: pairs.length, skipped, systems };
}

/** The terminal table: one row per system. */
export function preferenceTable(r: PreferenceReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const rows = r.systems.map((s) => {
    const d = s.vsBase ? `${s.vsBase.accuracy >= 0 ? '+' : ''}${pct(s.vsBase.accuracy)}${s.vsBase.interval ? ` [${pct(s.vsBase.interval.low)}, ${pct(s.vsBase.interval.high)}]` : ''}` : '';
    return `  ${s.name.padEnd(24)} ${pct(s.accuracy).padStart(8)} ${pct(s.accuracyPerToken).padStart(10)} ${s.meanMargin.toFixed(3).padStart(12)}  ${d}`;
  });
  return [`preference accuracy on ${r.pairs} pairs (${r.data}${r.skipped ? `; ${r.skipped} cut by max_seq_len left out` : ''}): chosen more likely than rejected`,
    `  ${'system'.padEnd(24)} ${'accuracy'.padStart(8)} ${'per token'.padStart(10)} ${'mean margin'.padStart(12)}  vs base (95% interval)`, ...rows, ''].join('\n');
}

/** True when the file's first record is preference data (pairs or judgments) rather than reference answers. */
export function isPreferenceFile(file: string): boolean {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return false; // the ordinary reader reports a missing file
  }
  const first = text.split(/\r?\n/).find((l) => l.trim());
  if (!first) return false;
  try {
    const o = JSON.parse(first) as unknown;
    return o !== null && typeof o === 'object' && !Array.isArray(o) && isPreferenceObject(o as Record<string, unknown>);
  } catch {
    return false;
  }
}

/** OUT/preference-eval.json (the margins of every pair per system included). */
export function writePreferenceReport(outDir: string, r: PreferenceReport): string {
  const file = path.join(outDir, 'preference-eval.json');
  writeFileAtomic(file, JSON.stringify(r, null, 2) + '\n');
  return file;
}
