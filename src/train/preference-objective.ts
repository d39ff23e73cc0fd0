// DPO and KTO as training objectives: a micro-batch's sequences are scored by the policy (with grad) and by
// the reference (no graph), the loss and its gradient with respect to each sequence's log-probability come
// from preference-loss.ts, and the policy's backward is seeded with that gradient over the step's pairs (DPO)
// or examples (KTO). Metrics are TRL's: rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins,
// logps/chosen, logps/rejected and, for KTO, kl.
import { Tensor, backward, noGrad } from '../tensor/index.js';
import type { CausalLM } from '../models/index.js';
import { buildBatch, planEpoch, type BatchOptions, type Example, type MicroBatch } from './batching.js';
import { dpoLosses, ktoKl, ktoLosses, type DpoSettings, type KtoSettings } from './preference-loss.js';
import { sequenceLogps, type ReferencePolicy } from './reference.js';
import type { LabelExample, PairExample } from './preference-data.js';
import type { EvalResult, MicroStep, Objective } from './objective.js';

/** Sums and counts per metric; a step's (or a validation's) metrics are their ratios. */
class MetricSums {
  private readonly m = new Map<string, [number, number]>();

  add(key: string, sum: number, count: number): void {
    const v = this.m.get(key) ?? [0, 0];
    this.m.set(key, [v[0] + sum, v[1] + count]);
  }

  take(): Record<string, number> | null {
    if (this.m.size === 0) return null;
    const out: Record<string, number> = {};
    for (const [k, [s, n]] of this.m) if (n > 0) out[k] = s / n;
    if (out['rewards/margins'] === undefined && out['rewards/chosen'] !== undefined && out['rewards/rejected'] !== undefined) {
      out['rewards/margins'] = out['rewards/chosen'] - out['rewards/rejected']; // KTO: difference of the means
    }
    this.m.clear();
    return out;
  }
}

function batchOf(seqs: Example[], b: BatchOptions): MicroBatch {
  return buildBatch(seqs, seqs.map((_, k) => [k]), { ...b, packing: false });
}

function targetCount(e: Example): number {
  let n = 0;
  for (let t = 1; t < e.mask.length; t++) n += e.mask[t];
  return n;
}

/** Scores, losses and metrics of one DPO micro-batch (pairs idx); with grad, back-propagates loss / normalizer. */
function dpoMicro(model: CausalLM, ref: ReferencePolicy, pairs: PairExample[], idx: number[], b: BatchOptions, o: DpoSettings,
  sums: MetricSums, normalizer: number | null): number {
  const P = idx.length;
  const mb = batchOf([...idx.map((i) => pairs[i].chosen), ...idx.map((i) => pairs[i].rejected)], b); // [chosen..., rejected...]
  const refL = ref.logps(model, mb);
  const policy = normalizer === null ? noGrad(() => sequenceLogps(model, mb)) : sequenceLogps(model, mb);
  const pl = policy.data;
  const l = dpoLosses({
    policyChosen: pl.subarray(0, P), policyRejected: pl.subarray(P), refChosen: refL.subarray(0, P), refRejected: refL.subarray(P),
    chosenTokens: idx.map((i) => targetCount(pairs[i].chosen)), rejectedTokens: idx.map((i) => targetCount(pairs[i].rejected)),
  }, o);
  if (normalizer !== null) {
    const seed = new Float32Array(2 * P);
    for (let k = 0; k < P; k++) {
      seed[k] = l.dChosen[k] / normalizer;
      seed[P + k] = l.dRejected[k] / normalizer;
    }
    backward(policy, Tensor.from(seed, [2 * P]));
  }
  let loss = 0;
  for (let k = 0; k < P; k++) {
    const rc = o.beta * (pl[k] - refL[k]);
    const rr = o.beta * (pl[P + k] - refL[P + k]);
    loss += l.losses[k];
    sums.add('rewards/chosen', rc, 1);
    sums.add('rewards/rejected', rr, 1);
    sums.add('rewards/accuracies', rc > rr ? 1 : 0, 1);
    sums.add('rewards/margins', rc - rr, 1);
    sums.add('logps/chosen', pl[k], 1);
    sums.add('logps/rejected', pl[P + k], 1);
  }
  return loss;
}

/** The mismatched sequences of a KTO micro-batch: example k's prompt with example k-1's completion (TRL
 *  rotates completions by one within the batch), truncated like the others. */
export function klSequences(data: LabelExample[], idx: number[], maxSeqLen: number): Example[] {
  const n = idx.length;
  return idx.map((i, k) => {
    const p = data[i];
    const c = data[idx[(k - 1 + n) % n]];
    const ids = new Int32Array(p.promptEnd + c.completionEnd - c.promptEnd);
    const mask = new Uint8Array(ids.length);
    ids.set(p.seq.ids.subarray(0, p.promptEnd));
    ids.set(c.seq.ids.subarray(c.promptEnd, c.completionEnd), p.promptEnd);
    mask.set(c.seq.mask.subarray(c.promptEnd, c.completionEnd), p.promptEnd);
    const len = Math.min(ids.length, maxSeqLen);
    return { ids: ids.subarray(0, len), mask: mask.subarray(0, len) };
  });
}

/** Scores, losses and metrics of one KTO micro-batch; with grad, back-propagates loss / normalizer. */
function ktoMicro(model: CausalLM, ref: ReferencePolicy, data: LabelExample[], idx: number[], b: BatchOptions, o: KtoSettings,
  sums: MetricSums, normalizer: number | null): number {
  const klBatch = batchOf(klSequences(data, idx, b.maxSeqLen), b);
  const kl = ktoKl(noGrad(() => sequenceLogps(model, klBatch)).data, ref.logps(model, klBatch));
  const mb = batchOf(idx.map((i) => data[i].seq), b);
  const refL = ref.logps(model, mb);
  const policy = normalizer === null ? noGrad(() => sequenceLogps(model, mb)) : sequenceLogps(model, mb);
  const labels = idx.map((i) => data[i].label);
  const l = ktoLosses(policy.data, refL, labels, kl, o);
  if (normalizer !== null) backward(policy, Tensor.from(Float32Array.from(l.dChosen, (g) => g / normalizer), [idx.length]));
  sums.add('kl', kl, 1);
  let loss = 0;
  labels.forEach((desirable, k) => {
    const r = policy.data[k] - refL[k];
    loss += l.losses[k];
    const side = desirable ? 'chosen' : 'rejected';
    sums.add(`rewards/${side}`, o.beta * r, 1);
    sums.add(`logps/${side}`, policy.data[k], 1);
    // on the right side of the KL baseline: what the loss pushes towards (not one of TRL's KTO metrics)
    sums.add('rewards/accuracies', (desirable ? r > kl : r < kl) ? 1 : 0, 1);
  });
  return loss;
}

type Micro<E> = (model: CausalLM, ref: ReferencePolicy, data: E[], idx: number[], b: BatchOptions, sums: MetricSums, normalizer: number | null) => number;

function preferenceObjective<E>(model: CausalLM, ref: ReferencePolicy, train: E[], val: E[], lengthOf: (e: E) => number, b: BatchOptions,
  micro: Micro<E>): Objective {
  const stepSums = new MetricSums();
  const build = (rows: number[][]): MicroStep => {
    const idx = rows.map((r) => r[0]);
    return {
      units: idx.length,
      tokens: idx.reduce((s, i) => s + lengthOf(train[i]), 0),
      run: (normalizer) => micro(model, ref, train, idx, b, stepSums, normalizer) / normalizer,
    };
  };
  const evaluate = (): EvalResult => {
    const sums = new MetricSums();
    let loss = 0;
    for (const rows of planEpoch(val.map(lengthOf), b, null)) loss += micro(model, ref, val, rows.map((r) => r[0]), b, sums, null);
    const metrics = sums.take() ?? {};
    const acc = metrics['rewards/accuracies'] ?? 0;
    const mean = loss / Math.max(1, val.length);
    return { loss: mean, metrics, score: { value: 1 - acc, tie: mean } };
  };
  return { lengths: train.map(lengthOf), hasValidation: val.length > 0, build, takeStepMetrics: () => stepSums.take(), evaluate };
}

/** A pair costs both of its sequences padded to the longer one. */
export function pairLength(p: PairExample): number {
  return 2 * Math.max(p.chosen.ids.length, p.rejected.ids.length);
}

export function dpoObjective(model: CausalLM, ref: ReferencePolicy, train: PairExample[], val: PairExample[], b: BatchOptions, o: DpoSettings): Objective {
  return preferenceObjective(model, ref, train, val, pairLength, b, (m, r, d, idx, bo, sums, n) => dpoMicro(m, r, d, idx, bo, o, sums, n));
}

export function ktoObjective(model: CausalLM, ref: ReferencePolicy, train: LabelExample[], val: LabelExample[], b: BatchOptions, o: KtoSettings): Objective {
  return preferenceObjective(model, ref, train, val, (e) => e.seq.ids.length, b, (m, r, d, idx, bo, sums, n) => ktoMicro(m, r, d, idx, bo, o, sums, n));
}
