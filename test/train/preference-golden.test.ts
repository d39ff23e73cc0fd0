// DPO (sigmoid, conservative, IPO, robust, hinge) and KTO against the PyTorch reference that follows TRL's loss
// code (scripts/reference/preference_ref.py): for one batch the loss, TRL's metrics and every LoRA gradient,
// then a 3-step AdamW trajectory, on llama-tiny and gemma2-tiny (soft-capped logits) with its PEFT adapter
// trained further, the reference being the base (adapter off) or the frozen starting adapter.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/models/index.js';
import { loadAdapter } from '../../src/lora/index.js';
import { adamwUpdate } from '../../src/tensor/index.js';
import { ReferencePolicy } from '../../src/train/reference.js';
import { dpoObjective, ktoObjective } from '../../src/train/preference-objective.js';
import type { LabelExample, PairExample } from '../../src/train/preference-data.js';
import type { BatchOptions, Example } from '../../src/train/batching.js';
import type { Objective } from '../../src/train/objective.js';
import type { DpoLossType } from '../../src/train/preference-loss.js';

const FIX = path.join(import.meta.dirname, '..', 'fixtures');

interface Golden {
  name: string;
  model: string;
  method: 'dpo' | 'kto';
  loss_type?: DpoLossType;
  beta: number;
  label_smoothing?: number;
  desirable_weight?: number;
  undesirable_weight?: number;
  ref: 'base' | 'adapter';
  examples: { prompt: number[]; chosen?: number[]; rejected?: number[]; completion?: number[]; label?: boolean }[];
  loss: number;
  metrics: Record<string, number>;
  grads: Record<string, number[]>;
  adamw: { lr: number; betas: [number, number]; eps: number; weight_decay: number };
  trajectory: Record<string, number>[];
}

const CASES = fs.readdirSync(path.join(FIX, 'preference')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
const BATCH: BatchOptions = { batchTokens: 1 << 16, packing: false, groupByLength: false, maxSeqLen: 1024, padId: 0 };

function seq(prompt: number[], completion: number[]): Example {
  return { ids: Int32Array.from([...prompt, ...completion]), mask: Uint8Array.from([...prompt.map(() => 0), ...completion.map(() => 1)]) };
}

function setup(g: Golden): { objective: Objective; params: { name: string; tensor: import('../../src/tensor/index.js').Tensor }[]; units: number } {
  const { model } = loadModel(path.join(FIX, g.model));
  const lora = loadAdapter(path.join(FIX, `${g.model}-lora`), model, true);
  const ref = g.ref === 'adapter' ? ReferencePolicy.frozenCopy(lora) : ReferencePolicy.base(lora);
  let objective: Objective;
  if (g.method === 'dpo') {
    const pairs: PairExample[] = g.examples.map((e, i) => ({ chosen: seq(e.prompt, e.chosen!), rejected: seq(e.prompt, e.rejected!), source: `pair ${i}` }));
    objective = dpoObjective(model, ref, pairs, [], BATCH, { beta: g.beta, lossType: g.loss_type!, labelSmoothing: g.label_smoothing! });
  } else {
    const data: LabelExample[] = g.examples.map((e, i) => ({
      seq: seq(e.prompt, e.completion!), label: e.label!, promptEnd: e.prompt.length, completionEnd: e.prompt.length + e.completion!.length, source: `example ${i}`,
    }));
    objective = ktoObjective(model, ref, data, [], BATCH, { beta: g.beta, desirableWeight: g.desirable_weight!, undesirableWeight: g.undesirable_weight! });
  }
  return { objective, params: lora.params(), units: g.examples.length };
}

/** max |a - b| over max(1, max |b|) */
function scaledDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let s = 1;
  for (let i = 0; i < b.length; i++) {
    s = Math.max(s, Math.abs(b[i]));
    m = Math.max(m, Math.abs(a[i] - b[i]));
  }
  return m / s;
}

function expectMetrics(got: Record<string, number> | null, want: Record<string, number>, what: string): void {
  for (const [k, v] of Object.entries(want)) {
    expect(got?.[k], `${what}: ${k}`).toBeDefined();
    expect(Math.abs(got![k] - v), `${what}: ${k} ${got![k]} vs ${v}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(v)));
  }
}

describe.each(CASES)('preference golden %s', (name) => {
  const g = JSON.parse(fs.readFileSync(path.join(FIX, 'preference', `${name}.json`), 'utf8')) as Golden;
  const rows = g.examples.map((_, i) => [i]);

  it('loss, metrics and every LoRA gradient of one batch match the reference within 1e-4', () => {
    const { objective, params, units } = setup(g);
    const mb = objective.build(rows);
    expect(mb.units).toBe(units);
    const loss = mb.run(units);
    expect(Math.abs(loss - g.loss), `loss ${loss} vs ${g.loss}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(g.loss)));
    expectMetrics(objective.takeStepMetrics(), g.metrics, 'metrics');
    expect(params.length).toBe(Object.keys(g.grads).length);
    let worst = 0;
    for (const p of params) {
      const want = g.grads[p.name];
      expect(want, p.name).toBeDefined();
      const d = scaledDiff(p.tensor.grad?.data ?? new Float32Array(want.length), want);
      worst = Math.max(worst, d);
    }
    expect(worst, `max scaled gradient difference ${worst}`).toBeLessThan(1e-4);
  });

  it('a 3-step AdamW trajectory matches the reference within 1e-4', () => {
    const { objective, params, units } = setup(g);
    const o = g.adamw;
    const moments = params.map((p) => ({ m: new Float32Array(p.tensor.size), v: new Float32Array(p.tensor.size) }));
    g.trajectory.forEach((want, step) => {
      for (const p of params) p.tensor.grad = null;
      const loss = objective.build(rows).run(units);
      expect(Math.abs(loss - want.loss), `step ${step + 1}: loss ${loss} vs ${want.loss}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(want.loss)));
      const { loss: _l, ...metrics } = want;
      expectMetrics(objective.takeStepMetrics(), metrics, `step ${step + 1}`);
      params.forEach((p, i) => adamwUpdate(p.tensor, moments[i].m, moments[i].v,
        { lr: o.lr, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weight_decay }, step + 1));
    });
  });
});

describe('DPO gradient accumulation', () => {
  it('micro-batches normalised by the step\'s pairs give the gradient of one batch (within 1e-6)', () => {
    const g = JSON.parse(fs.readFileSync(path.join(FIX, 'preference', 'dpo-sigmoid.json'), 'utf8')) as Golden;
    const one = setup(g);
    const lossOne = one.objective.build([[0], [1], [2]]).run(3);
    const split = setup(g);
    const lossSplit = split.objective.build([[0]]).run(3) + split.objective.build([[1], [2]]).run(3);
    expect(Math.abs(lossOne - lossSplit)).toBeLessThan(1e-6);
    let worst = 0;
    one.params.forEach((p, i) => { worst = Math.max(worst, scaledDiff(split.params[i].tensor.grad!.data, p.tensor.grad!.data)); });
    expect(worst).toBeLessThan(1e-6);
  });
});
