// Batched decode (src/models/decode-rows.ts): rows at different positions, under different adapters or none, get
// logits bit-identical to the same rows decoded one at a time, and close to the model's own forward.
import { describe, expect, it } from 'vitest';
import { Generation, openModel, PREFILL_CHUNK } from '../../src/generate/index.js';
import { loadAdapter } from '../../src/lora/index.js';
import { rowDecoder, type CausalLM, type DecodeRow, type KVCache, type LinearAdapter } from '../../src/models/index.js';
import { noGrad, setComputePrecision, setWeightFormat } from '../../src/tensor/index.js';
import { makeAdapter } from '../serve/fixtures.js';
import { tinyModelDir } from '../helpers/tiny-model.js';
import { familyModelDir, QWEN3_TOKENIZER, tinyQwen3Config } from '../helpers/family-model.js';

type Layers = readonly (LinearAdapter | null)[] | null;

/** An adapter's layer per linear of the model, loaded and taken off again (as the server keeps them). */
function adapterLayers(model: CausalLM, dir: string): Layers {
  const set = loadAdapter(dir, model);
  const layers = model.linears().map((l) => set.layers.get(l.name) ?? null);
  set.detach();
  return layers;
}

/** Runs fn with `layers` attached to the model's linears. */
function attached<T>(model: CausalLM, layers: Layers, fn: () => T): T {
  const lin = model.linears();
  lin.forEach((l, i) => {
    l.adapter = layers?.[i] ?? null;
  });
  try {
    return fn();
  } finally {
    for (const l of lin) l.adapter = null;
  }
}

/** A cache holding `prompt` prefilled under `layers`. */
function prefilled(model: CausalLM, prompt: number[], layers: Layers): KVCache {
  const cache = model.createCache(1, 64) as KVCache;
  attached(model, layers, () => noGrad(() => model.forward({ ids: Int32Array.from(prompt), batch: 1, seqLen: prompt.length, cache, logits: 'none' })));
  return cache;
}

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const PROMPTS = [[5, 9, 2], [7], [11, 3, 8, 14, 2, 6, 1], [4, 4], [9, 8, 7, 6, 5, 4], [12, 2, 3, 3]];

function checkModel(dir: string, withAdapters: boolean, weights: 'f32' | 'bf16' | 'int8' = 'f32'): void {
  const { model } = openModel(dir, { weights });
  const decoder = rowDecoder(model);
  expect(decoder).not.toBeNull();
  const sets: Layers[] = withAdapters ? [null, adapterLayers(model, makeAdapter(dir, 1)), adapterLayers(model, makeAdapter(dir, 2))] : [null];
  const plan = PROMPTS.map((p, i) => ({ prompt: p, layers: sets[i % sets.length], next: [(i * 5 + 3) % 20, (i * 7 + 1) % 20, 2] }));
  const batched = plan.map((r) => prefilled(model, r.prompt, r.layers));
  const alone = plan.map((r) => prefilled(model, r.prompt, r.layers));
  const viaForward = plan.map((r) => prefilled(model, r.prompt, r.layers));
  for (let step = 0; step < 3; step++) {
    // a different subset each step: rows join and leave the batch
    const active = plan.map((_, i) => i).filter((i) => step === 0 || (i + step) % 3 !== 0);
    const rows: DecodeRow[] = active.map((i) => ({ id: plan[i].next[step], cache: batched[i], adapters: plan[i].layers }));
    const together = decoder!.step(rows);
    active.forEach((i, b) => {
      const one = decoder!.step([{ id: plan[i].next[step], cache: alone[i], adapters: plan[i].layers }])[0];
      expect(Buffer.compare(bytes(together[b]), bytes(one)), `step ${step} row ${i}: batched logits differ`).toBe(0);
      const ref = attached(model, plan[i].layers, () => noGrad(() => model.forward({
        ids: Int32Array.of(plan[i].next[step]), batch: 1, seqLen: 1, cache: viaForward[i], logits: 'last',
      }))).logits!.data;
      let err = 0;
      ref.forEach((x, j) => {
        err = Math.max(err, Math.abs(x - one[j]));
      });
      expect(err, `step ${step} row ${i} vs forward`).toBeLessThan(1e-4);
      expect(batched[i].length).toBe(alone[i].length);
    });
  }
}

describe('batched decode rows', () => {
  it('match single-row decode bit for bit, with mixed adapters and positions (Llama, odd sizes)', () => {
    checkModel(tinyModelDir({ hidden: 40, heads: 4, kvHeads: 2, intermediate: 52, layers: 2, embedStd: 0.05 }), true);
  });

  it('match with int8 weights too (--weights int8: the int8 rows, each element summed in the same order)', () => {
    try {
      checkModel(tinyModelDir({ hidden: 40, heads: 4, kvHeads: 2, intermediate: 52, layers: 2, embedStd: 0.05 }), true, 'int8');
    } finally {
      setWeightFormat('f32');
    }
  });

  it('match with bf16 weights too (--weights bf16: r(x) times the bf16 rows, each element summed in the same order)', () => {
    try {
      checkModel(tinyModelDir({ hidden: 40, heads: 4, kvHeads: 2, intermediate: 52, layers: 2, embedStd: 0.05 }), true, 'bf16');
    } finally {
      setWeightFormat('f32');
    }
  });

  it('match with per-head q/k norms (Qwen3)', () => {
    checkModel(familyModelDir({ config: tinyQwen3Config(), tokenizerDir: QWEN3_TOKENIZER, seed: 3 }), false);
  });

  it('follow a prompt prefilled in chunks as one whole-prompt forward would (within float32 rounding)', () => {
    const m = openModel(tinyModelDir({ embedStd: 0.05 }));
    const prompt = Array.from({ length: 2 * PREFILL_CHUNK + 17 }, (_, i) => (i * 7 + 3) % 50);
    const g = new Generation(m, prompt, { maxNewTokens: 4, temperature: 0 });
    let chunks = 0;
    let logits: Float32Array | null = null;
    while (!logits) {
      logits = g.prefill();
      chunks++;
    }
    expect(chunks).toBe(3);
    const ref = noGrad(() => m.model.forward({ ids: Int32Array.from(prompt), batch: 1, seqLen: prompt.length, logits: 'last' })).logits!.data;
    let err = 0;
    ref.forEach((x, j) => {
      err = Math.max(err, Math.abs(x - logits[j]));
    });
    expect(err).toBeLessThan(1e-4);
  });

  it('are not offered under bf16 compute (training precision), which runs through the forward', () => {
    const { model } = openModel(tinyModelDir());
    const prev = setComputePrecision('bf16');
    try {
      expect(rowDecoder(model)).toBeNull();
    } finally {
      setComputePrecision(prev);
    }
  });
});
