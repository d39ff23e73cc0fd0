// Batched decode (src/models/decode-rows.ts): rows at different positions, under different adapters or none, get
// logits bit-identical to the same rows decoded one at a time, and close to the model's own forward.
import { describe, expect, it } from 'vitest';
import { Generation, openModel, PREFILL_CHUNK } from '../../src/generate/index.js';
import { loadAdapter } from '../../src/lora/index.js';
import { kvCacheFormat, rowDecoder, setKvCacheFormat, type CausalLM, type DecodeRow, type KVCache, type KvCacheFormat, type LinearAdapter } from '../../src/models/index.js';
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
    const rows: DecodeRow[] = active.map((i) => ({ ids: [plan[i].next[step]], cache: batched[i], adapters: plan[i].layers }));
    const together = decoder!.step(rows).map((l) => Float32Array.from(l)); // the step's logits last until the next step
    active.forEach((i, b) => {
      const one = decoder!.step([{ ids: [plan[i].next[step]], cache: alone[i], adapters: plan[i].layers }])[0];
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

/** Prompt chunks riding in the step beside decode rows: each prefilling row's last logits, and the decode step after
 *  it (which reads everything its cache holds), equal the same prompt stepped alone, and follow the forward's
 *  whole-prompt prefill within float32 rounding. Short chunks attend one query at a time, the 70-token chunk over
 *  134 positions through attention()'s blocked path. */
function checkPromptRows(dir: string, weights: 'f32' | 'bf16' | 'int8', kvCache: KvCacheFormat | 'auto' = 'auto'): void {
  const { model } = openModel(dir, { weights, kvCache });
  const label = `${weights} weights, ${kvCacheFormat()} cache`;
  const decoder = rowDecoder(model)!;
  const sets: Layers[] = [null, adapterLayers(model, makeAdapter(dir, 1))];
  const prompts = [Array.from({ length: 20 }, (_, i) => (i * 7 + 3) % 40), [6, 2, 9, 1, 13], Array.from({ length: 17 }, (_, i) => (i * 5 + 1) % 30),
    Array.from({ length: 140 }, (_, i) => (i * 11 + 5) % 45)];
  const chunking = [[17, 3], [5], [17], [64, 70, 6]];
  const decoding = PROMPTS.slice(0, 3).map((p, i) => ({ cache: prefilled(model, p, sets[i % 2]), id: 3 + i, layers: sets[i % 2] }));
  const caches = prompts.map(() => model.createCache(1, 160) as KVCache);
  const aloneCaches = prompts.map(() => model.createCache(1, 160) as KVCache);
  const done = prompts.map(() => 0);
  const lastLogits: Float32Array[] = [];
  for (let step = 0; step < 3; step++) {
    const pending = prompts.map((_, i) => i).filter((i) => step < chunking[i].length);
    const rows: DecodeRow[] = [
      ...decoding.map((d) => ({ ids: [d.id], cache: d.cache, adapters: d.layers })),
      ...pending.map((i) => ({ ids: prompts[i].slice(done[i], done[i] + chunking[i][step]), cache: caches[i], adapters: sets[i % 2] })),
    ];
    const together = decoder.step(rows).map((l) => Float32Array.from(l));
    pending.forEach((i, j) => {
      const one = decoder.step([{ ids: prompts[i].slice(done[i], done[i] + chunking[i][step]), cache: aloneCaches[i], adapters: sets[i % 2] }])[0];
      expect(Buffer.compare(bytes(together[decoding.length + j]), bytes(one)), `${label}: prompt ${i} chunk ${step}`).toBe(0);
      done[i] += chunking[i][step];
      if (done[i] === prompts[i].length) lastLogits[i] = Float32Array.from(one);
      expect(caches[i].length).toBe(done[i]);
    });
  }
  prompts.forEach((p, i) => {
    const next = [{ ids: [7], cache: caches[i], adapters: sets[i % 2] }];
    const a = Float32Array.from(decoder.step(next)[0]);
    const b = decoder.step([{ ...next[0], cache: aloneCaches[i] }])[0];
    expect(Buffer.compare(bytes(a), bytes(b)), `${label}: prompt ${i}: decode after the prompt`).toBe(0);
    // the forward over a cache of the same format: its attention reads the keys and values as stored (a bf16 cache
    // rounds them), as the rows' does
    const cache = model.createCache(1, p.length) as KVCache;
    expect(cache.format).toBe(caches[i].format);
    const ref = attached(model, sets[i % 2], () => noGrad(() => model.forward({ ids: Int32Array.from(p), batch: 1, seqLen: p.length, cache, logits: 'last' }))).logits!.data;
    let err = 0;
    let scale = 0;
    ref.forEach((x, j) => {
      err = Math.max(err, Math.abs(x - lastLogits[i][j]));
      scale = Math.max(scale, Math.abs(x));
    });
    // bf16 weights round every activation to bf16 on the way into a GEMM: a last-bit difference of the summation
    // order can move a rounding by one bf16 step (2^-8 relative), so the logits agree to bf16 precision only
    expect(err, `${label}: prompt ${i} vs the forward`).toBeLessThan(weights === 'bf16' ? 4e-3 * Math.max(1, scale) : 1e-4);
  });
}

describe('batched decode rows', () => {
  it('carry prompt chunks beside decode rows, each row as it would be alone (float32, bf16 and int8 weights)', () => {
    const dir = tinyModelDir({ hidden: 40, heads: 4, kvHeads: 2, intermediate: 52, layers: 2, embedStd: 0.05 });
    try {
      for (const w of ['f32', 'bf16', 'int8'] as const) checkPromptRows(dir, w);
      checkPromptRows(dir, 'bf16', 'f32'); // bf16 weights over a float32 cache
      checkPromptRows(dir, 'f32', 'bf16'); // float32 weights over a bf16 cache
    } finally {
      setWeightFormat('f32');
      setKvCacheFormat('auto');
    }
  });


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
