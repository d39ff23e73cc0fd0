// bf16 mixed precision: frozen weights multiply as bf16 copies, everything trainable stays float32. Checked
// against the float32 path on the tiny model (close, but not the same numbers), for the weight-copy cache, and
// end to end: a bf16 run still over-fits a few Q/A pairs and leaves the process in float32 afterwards.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DecoderModel, loadModel } from '../../src/models/index.js';
import { attachLora } from '../../src/lora/index.js';
import { Rng } from '../../src/kernels/rng.js';
import {
  Bf16Storage, Tensor, backward, bf16Weight, compactFrozenWeights, computePrecision, embedding, rope, setComputePrecision, weightChanged,
} from '../../src/tensor/index.js';
import { ropeTables } from '../kernels/helpers.js';
import { kernels } from '../../src/kernels/index.js';
import { runTraining } from '../../src/train/session.js';
import { TRAIN_DEFAULTS } from '../../src/train/config.js';
import { estimateTraining } from '../../src/train/estimate.js';
import { tinyModelDir, tempDir, writeJsonl } from '../helpers/tiny-model.js';

afterEach(() => {
  setComputePrecision('fp32');
});

/** loss and every LoRA gradient of one forward/backward of the tiny model with non-zero B */
function lossAndGrads(): { loss: number; grads: Float32Array[] } {
  const { model } = loadModel(tinyModelDir());
  const lora = attachLora(model, { r: 4, alpha: 8, dropout: 0, targetModules: 'all-linear', useRslora: false }, 3);
  const rng = new Rng(5);
  for (const p of lora.params()) if (p.name.includes('lora_B')) p.tensor.data.forEach((_, i, d) => { d[i] = 0.05 * rng.normal(); });
  const V = model.config.vocabSize;
  const ids = Int32Array.from({ length: 24 }, (_, i) => (i * 37 + 11) % V);
  const targets = Int32Array.from({ length: 24 }, (_, i) => (i * 53 + 7) % V);
  const { loss } = model.forward({ ids, batch: 2, seqLen: 12, targets });
  backward(loss!);
  return { loss: loss!.item(), grads: lora.params().map((p) => p.tensor.grad!.data.slice()) };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

describe('bf16 mixed precision', () => {
  it('gives a loss and LoRA gradients close to float32, but not the float32 numbers', () => {
    const f32 = lossAndGrads();
    setComputePrecision('bf16');
    const bf = lossAndGrads();
    setComputePrecision('fp32');
    const again = lossAndGrads();
    expect(again.loss).toBe(f32.loss); // back to exact float32 once switched back
    const rel = Math.abs(bf.loss - f32.loss) / f32.loss;
    expect(rel).toBeGreaterThan(0); // the bf16 path really ran
    expect(rel).toBeLessThan(1e-2);
    const worst = Math.min(...bf.grads.map((g, i) => cosine(g, f32.grads[i])));
    console.log(`bf16 vs fp32: loss rel diff ${rel.toExponential(2)}, worst LoRA gradient cosine ${worst.toFixed(5)}`);
    expect(worst).toBeGreaterThan(0.99);
  });

  it('keeps one bf16 copy per frozen weight, none for trainable ones, and rebuilds it after an in-place change', () => {
    const w = Tensor.from(Float32Array.from([1, 2 + 2 ** -10, -3, 0.5]), [2, 2]);
    expect(bf16Weight(w)).toBeNull(); // fp32: no copies at all
    setComputePrecision('bf16');
    const first = bf16Weight(w)!;
    expect(Array.from(first)).toEqual([0x3f80, 0x4000, 0xc040, 0x3f00]); // 2 + 2^-10 rounds to 2
    expect(bf16Weight(w)).toBe(first);
    w.data[3] = 4;
    weightChanged(w);
    expect(bf16Weight(w)![3]).toBe(0x4080);
    const trainable = Tensor.from(Float32Array.of(1, 2), [1, 2], true);
    expect(bf16Weight(trainable)).toBeNull();
  });

  it('keeps frozen weights that are exact bf16 numbers as bf16 only, with the same numbers on every path', () => {
    const exact = { weight: Tensor.from(Float32Array.from([1, -2, 0.5, 3.25]), [2, 2]) };
    const inexact = { weight: Tensor.from(Float32Array.from([1, 2 + 2 ** -10]), [1, 2]) };
    const trainable = { weight: Tensor.from(Float32Array.from([1, 2]), [1, 2], true) };
    exact.weight.name = 'w';
    expect(compactFrozenWeights([exact, inexact, trainable])).toBe(8); // 4 values x 2 bytes freed
    expect(exact.weight.storage).toBeInstanceOf(Bf16Storage);
    expect(exact.weight.name).toBe('w');
    expect(inexact.weight.storage).not.toBeInstanceOf(Bf16Storage);
    expect(trainable.weight.storage).not.toBeInstanceOf(Bf16Storage);
    setComputePrecision('bf16');
    expect(Array.from(bf16Weight(exact.weight)!)).toEqual([0x3f80, 0xc000, 0x3f00, 0x4050]);
    expect(Array.from(exact.weight.data)).toEqual([1, -2, 0.5, 3.25]); // the float32 view comes back exactly
    exact.weight.data[0] = 4; // an in-place change (a fused adapter) reaches the bf16 GEMMs
    weightChanged(exact.weight);
    expect(bf16Weight(exact.weight)![0]).toBe(0x4080);
  });

  it('a bf16 checkpoint trains to the same loss and gradients whether or not its float32 copies were freed', () => {
    const run = (compact: boolean): { loss: number; grads: number[][] } => {
      const { model } = loadModel(tinyModelDir());
      if (!(model instanceof DecoderModel)) throw new Error('the tiny model is a shared decoder');
      // make every weight an exact bf16 number, as a bf16 checkpoint has
      for (const w of [...model.linears().map((l) => l.weight.data), model.weights.embed.data]) {
        const bits = new Uint16Array(w.length);
        kernels().f32ToBf16(bits, w, w.length);
        kernels().bf16ToF32(w, bits, w.length);
      }
      const lora = attachLora(model, { r: 4, alpha: 8, dropout: 0, targetModules: 'all-linear', useRslora: false }, 3);
      const rng = new Rng(7);
      for (const p of lora.params()) if (p.name.includes('lora_B')) p.tensor.data.forEach((_, i, d) => { d[i] = 0.05 * rng.normal(); });
      if (compact) {
        expect(compactFrozenWeights(model.linears())).toBeGreaterThan(0);
        const V = model.config.vocabSize;
        const C = model.config.hiddenSize;
        expect(model.compactTables()).toBe(2 * V * C); // the tied embedding: one table
        expect(model.weights.embed.storage).toBeInstanceOf(Bf16Storage);
        expect(model.weights.lmHead).toBe(model.weights.embed);
        expect(model.namedWeights().find((w) => w.name === 'model.embed_tokens.weight')?.tensor).toBe(model.weights.embed);
      }
      const V = model.config.vocabSize;
      const ids = Int32Array.from({ length: 16 }, (_, i) => (i * 37 + 11) % V);
      const { loss } = model.forward({ ids, batch: 2, seqLen: 8, targets: ids.map((v) => (v * 7 + 1) % V) });
      backward(loss!);
      return { loss: loss!.item(), grads: lora.params().map((p) => Array.from(p.tensor.grad!.data)) };
    };
    setComputePrecision('bf16');
    const freed = run(true);
    const kept = run(false);
    expect(freed.loss).toBe(kept.loss);
    expect(freed.grads).toEqual(kept.grads);
  });

  it('hands RoPE\'s output to bf16 attention rounded (the numbers attention would round it to) and gathers embeddings from bf16 rows', () => {
    const rng = new Rng(9);
    const [N, H, D] = [5, 2, 8];
    const x = Tensor.from(Float32Array.from({ length: N * H * D }, () => rng.normal()), [N, H, D]);
    const { cos, sin } = ropeTables(16, D);
    const pos = Int32Array.from({ length: N }, (_, i) => 3 + i);
    const plain = rope(x, cos, sin, pos).data;
    const bits = rope(x, cos, sin, pos, { bf16Out: true }).storage;
    expect(bits).toBeInstanceOf(Bf16Storage);
    const want = new Uint16Array(plain.length);
    kernels().f32ToBf16(want, plain, plain.length);
    expect(Array.from((bits as Bf16Storage).bits)).toEqual(Array.from(want));
    // a bf16 table gathers the same rows as its float32 widening
    const tbits = Uint16Array.from({ length: 6 * D }, () => 0x3c00 + Math.floor(rng.next() * 0x800));
    const table = new Tensor(new Bf16Storage(tbits), [6, D], false);
    const wide = Tensor.from(Float32Array.from(table.data), [6, D]);
    const ids = Int32Array.of(5, 0, 3, 3);
    expect(Array.from(embedding(table, ids).data)).toEqual(Array.from(embedding(wide, ids).data));
  });

  it('adds the bf16 weight copies to the memory estimate for LoRA only', () => {
    const shape = { C: 64, F: 128, L: 2, H: 4, Hkv: 2, D: 16, V: 500, tied: true };
    const base = estimateTraining(shape, { method: 'lora', loraR: 8, batchTokens: 256 });
    const bf = estimateTraining(shape, { method: 'lora', loraR: 8, batchTokens: 256, precision: 'bf16' });
    const linear = 2 * (64 * 64 * 2 + 64 * 32 * 2 + 3 * 64 * 128) + 500 * 64;
    expect(bf.weightBytes - base.weightBytes).toBe(2 * linear);
    const full = estimateTraining(shape, { method: 'full', loraR: 8, batchTokens: 256, precision: 'bf16' });
    expect(full.weightBytes).toBe(estimateTraining(shape, { method: 'full', loraR: 8, batchTokens: 256 }).weightBytes);
  });

  it('trains end to end: a bf16 run over-fits a few Q/A pairs and restores float32 afterwards', async () => {
    const dir = tempDir();
    const rows = ['What are your hours?|We are open 9 to 6 on weekdays.', '返品できますか?|30日以内なら返品できます。']
      .map((s) => s.split('|')).map(([q, a]) => ({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] }));
    writeJsonl(path.join(dir, 'train.jsonl'), [...rows, ...rows, ...rows]);
    const res = await runTraining({ config: { ...TRAIN_DEFAULTS, model: tinyModelDir(), data: path.join(dir, 'train.jsonl'),
      out: path.join(dir, 'run'), batchTokens: 512, loraDropout: 0, learningRate: 3e-2, epochs: 40, warmupRatio: 0,
      loraR: 16, loraAlpha: 32, valSplit: 0, precision: 'bf16' } });
    expect(res.state.lastTrainLoss!).toBeLessThan(0.3);
    expect(computePrecision()).toBe('fp32');
    const saved = JSON.parse(fs.readFileSync(path.join(res.runDir, 'config.json'), 'utf8')) as { config: { precision: string } };
    expect(saved.config.precision).toBe('bf16');
  });
});
