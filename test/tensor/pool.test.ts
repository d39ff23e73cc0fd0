// The step pool: a LoRA training step repeated with the same shapes takes every activation, gradient and scratch
// buffer from the pool (counted, not timed), gives the same numbers as without the pool, and nothing reads a
// buffer after it was handed back (poisoned with NaN, the results stay equal).
import { afterEach, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/models/index.js';
import { attachLora } from '../../src/lora/index.js';
import { Rng } from '../../src/kernels/rng.js';
import { backward, setComputePrecision } from '../../src/tensor/index.js';
import {
  beginStep, endStep, giveBack, poolStats, resetPool, setPoolPoison, sizeClass, takeBuffer, withStepPool,
} from '../../src/tensor/pool.js';
import { tinyModelDir } from '../helpers/tiny-model.js';

afterEach(() => {
  setPoolPoison(false);
  setComputePrecision('fp32');
  resetPool();
});

/** A trainer-shaped step runner: returns a function doing one forward + backward on the tiny model (LoRA on every
 *  linear, non-zero B so every gradient path carries numbers), with its loss and a copy of the LoRA gradients. */
function stepper(T: number): (pooled: boolean) => { loss: number; grads: Float32Array[] } {
  const { model } = loadModel(tinyModelDir());
  const lora = attachLora(model, { r: 4, alpha: 8, dropout: 0, targetModules: 'all-linear', useRslora: false }, 3);
  const rng = new Rng(5);
  for (const p of lora.params()) if (p.name.includes('lora_B')) p.tensor.data.forEach((_, i, d) => { d[i] = 0.05 * rng.normal(); });
  const V = model.config.vocabSize;
  const ids = Int32Array.from({ length: 2 * T }, (_, i) => (i * 37 + 11) % V);
  const targets = Int32Array.from({ length: 2 * T }, (_, i) => (i * 53 + 7) % V);
  return (pooled) => {
    for (const p of lora.params()) p.tensor.grad = null;
    const run = (): number => {
      const { loss } = model.forward({ ids, batch: 2, seqLen: T, targets });
      const value = loss!.item();
      backward(loss!);
      return value;
    };
    const loss = pooled ? withStepPool(run) : run();
    return { loss, grads: lora.params().map((p) => p.tensor.grad!.data.slice()) };
  };
}

describe('step pool', () => {
  it('size classes leave at most 25% slack and are stable', () => {
    for (const n of [1, 7, 8, 9, 100, 1000, 4097, 1 << 20, 3 * (1 << 20) + 1]) {
      const c = sizeClass(n);
      expect(c).toBeGreaterThanOrEqual(n);
      expect(c).toBeLessThanOrEqual(Math.max(8, Math.ceil(n * 1.25)));
      expect(sizeClass(c)).toBe(c);
    }
  });

  it('lends views, takes them back at the end of a scope and reuses them', () => {
    resetPool();
    beginStep();
    const a = takeBuffer(1000);
    const b = takeBuffer(1000);
    expect(a.length).toBe(1000);
    expect(a.buffer).not.toBe(b.buffer);
    giveBack(b); // returned early: the next request of the class gets it
    expect(takeBuffer(999).buffer).toBe(b.buffer);
    endStep();
    expect(poolStats().fresh).toBe(2);
    beginStep();
    const again = [takeBuffer(1000), takeBuffer(1000)].map((x) => x.buffer);
    endStep();
    expect(new Set(again)).toEqual(new Set([a.buffer, b.buffer]));
    expect(poolStats().fresh).toBe(2);
    expect(poolStats().reused).toBe(3);
    expect(takeBuffer(10).buffer).not.toBe(a.buffer); // outside a scope: plain arrays
  });

  it('allocates nothing new in a repeated training step and gives the same numbers as without the pool', () => {
    const step = stepper(12);
    const plain = step(false);
    resetPool();
    const first = step(true);
    const afterFirst = poolStats();
    expect(afterFirst.fresh).toBeGreaterThan(50); // activations, gradients and scratch all came from the pool
    const second = step(true);
    const afterSecond = poolStats();
    console.log(`pool: step 1 created ${afterFirst.fresh} buffers; step 2 created ${afterSecond.fresh - afterFirst.fresh}, ` +
      `reused ${afterSecond.reused - afterFirst.reused}; ${(afterSecond.bytesHeld / 1024).toFixed(0)} KiB held`);
    expect(afterSecond.fresh).toBe(afterFirst.fresh); // the second step allocated no buffer at all
    expect(afterSecond.reused - afterFirst.reused).toBeGreaterThanOrEqual(afterFirst.fresh);
    for (const r of [first, second]) {
      expect(r.loss).toBe(plain.loss);
      r.grads.forEach((g, i) => expect(g).toEqual(plain.grads[i]));
    }
  });

  it('never reads a buffer after handing it back (returned buffers poisoned with NaN), float32 and bf16', () => {
    for (const precision of ['fp32', 'bf16'] as const) {
      setComputePrecision(precision);
      setPoolPoison(false);
      const step = stepper(9);
      const plain = step(false);
      setPoolPoison(true);
      resetPool();
      for (let i = 0; i < 3; i++) {
        const r = step(true);
        expect(r.loss).toBe(plain.loss);
        r.grads.forEach((g, j) => expect(g, `${precision} gradient ${j}`).toEqual(plain.grads[j]));
      }
    }
  });

  it('serves micro-batches of other lengths from the same buffers when their class matches', () => {
    resetPool();
    const long = stepper(16);
    long(true);
    const held = poolStats().bytesHeld;
    const short = stepper(15);
    const before = poolStats().fresh;
    short(true);
    expect(poolStats().fresh - before).toBeLessThan(before / 2);
    expect(poolStats().bytesHeld).toBeLessThan(2 * held);
  });
});
