// adamwMany, sumSquaresMany and scaleMany: one call over many tensors gives exactly what one call per tensor gives, on any
// thread count, and the AdamW optimizer (which now takes one call) moves its parameters as per-tensor updates do.
import { afterAll, describe, expect, it } from 'vitest';
import { nativeStatus, referenceKernels } from '../../src/kernels/index.js';
import { nativeBenchHooks } from '../../src/kernels/native.js';
import type { Kernels } from '../../src/kernels/types.js';
import { Tensor } from '../../src/tensor/index.js';
import { AdamW } from '../../src/train/optimizer.js';
import { randn, Rng } from './helpers.js';

const native = nativeStatus().kernels;
const hooks = nativeBenchHooks();
const before = hooks?.info().threads ?? 1;
afterAll(() => hooks?.setThreads(before));

// sizes around the kernel's 16,384-element spans (a tensor across a span's end, tensors within one span, an empty one)
const SIZES = [5, 16384, 20000, 0, 7, 4608, 12288, 33000, 1];
const HYPER = [1e-3, 0.9, 0.999, 1e-8, 0.01] as const;

function tensors(rng: Rng) {
  return SIZES.map((n) => ({ p: randn(rng, n), g: randn(rng, n, 0.1), m: randn(rng, n, 0.01), v: Float32Array.from(randn(rng, n, 0.01), Math.abs) }));
}
const copy = (ts: ReturnType<typeof tensors>) => ts.map((t) => ({ p: t.p.slice(), g: t.g, m: t.m.slice(), v: t.v.slice() }));
const decays = Int32Array.from(SIZES, (_, i) => (i % 3 === 1 ? 0 : 1));

function many(k: Kernels, ts: ReturnType<typeof tensors>, step: number): void {
  k.adamwMany(ts.map((t) => t.p), ts.map((t) => t.g), ts.map((t) => t.m), ts.map((t) => t.v), Int32Array.from(SIZES), decays,
    ts.length, ...HYPER, step);
}
function each(k: Kernels, ts: ReturnType<typeof tensors>, step: number): void {
  ts.forEach((t, i) => k.adamw(t.p, t.g, t.m, t.v, SIZES[i], HYPER[0], HYPER[1], HYPER[2], HYPER[3], decays[i] ? HYPER[4] : 0, step));
}

describe.each([['reference', referenceKernels], ['native', native]] as const)('%s adamwMany, sumSquaresMany and scaleMany', (name, k) => {
  it.runIf(k !== null)('equal one adamw, sumSquares and scale per tensor, bit for bit', () => {
    const K = k as Kernels;
    const threadCounts = name === 'native' && hooks ? [1, 2, 3, 8] : [1];
    for (const threads of threadCounts) {
      hooks?.setThreads(threads);
      const start = tensors(new Rng(5));
      const [a, b] = [copy(start), copy(start)];
      for (const step of [1, 2, 3]) {
        many(K, a, step);
        each(K, b, step);
      }
      a.forEach((t, i) => {
        expect(Array.from(t.p), `${threads} threads param ${i}`).toEqual(Array.from(b[i].p));
        expect(Array.from(t.m), `${threads} threads m ${i}`).toEqual(Array.from(b[i].m));
        expect(Array.from(t.v), `${threads} threads v ${i}`).toEqual(Array.from(b[i].v));
      });
      const arrays = start.map((t) => t.g);
      let want = 0;
      arrays.forEach((g, i) => (want += K.sumSquares(g, SIZES[i])));
      expect(K.sumSquaresMany(arrays, Int32Array.from(SIZES), arrays.length)).toBe(want);
      expect(K.sumSquaresMany(arrays, Int32Array.from(SIZES), 0)).toBe(0);
      const scaled = arrays.map((g) => g.slice());
      K.scaleMany(scaled, Int32Array.from(SIZES), scaled.length, 0.37);
      arrays.forEach((g, i) => {
        const one = new Float32Array(g.length);
        K.scale(one, g, 0.37, SIZES[i]);
        expect(Array.from(scaled[i]), `${threads} threads scaled ${i}`).toEqual(Array.from(one));
      });
    }
  });
});

describe.runIf(native !== null)('native adamwMany arguments', () => {
  it('refuses short lists, short tensors and negative sizes, naming the argument', () => {
    const K = native as Kernels;
    const f = () => new Float32Array(4);
    expect(() => K.adamwMany([f()], [f()], [f()], [f()], Int32Array.of(4, 4), Int32Array.of(1, 1), 2, ...HYPER, 1)).toThrow(/adamwMany.*params/);
    expect(() => K.adamwMany([f()], [f()], [f()], [f()], Int32Array.of(5), Int32Array.of(1), 1, ...HYPER, 1)).toThrow(/adamwMany.*params/);
    expect(() => K.adamwMany([f()], [f()], [f()], [f()], Int32Array.of(-1), Int32Array.of(1), 1, ...HYPER, 1)).toThrow(/sizes\[0\] must be >= 0/);
    expect(() => K.sumSquaresMany([f()], Int32Array.of(9), 1)).toThrow(/sumSquaresMany.*arrays/);
    expect(() => K.scaleMany([f()], Int32Array.of(4), 2, 2)).toThrow(/scaleMany.*sizes/);
  });
});

describe('AdamW over many parameters', () => {
  it('moves each parameter as its own adamw call would, skips those without a gradient, and clips by the global norm', () => {
    const rng = new Rng(9);
    const params = SIZES.filter((n) => n > 0).map((n, i) => ({ name: `p${i}`, tensor: Tensor.from(randn(rng, n), [n]), decay: i % 2 === 0 }));
    const opt = new AdamW(params, { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 });
    const want = params.map((p) => ({ p: p.tensor.data.slice(), m: new Float32Array(p.tensor.size), v: new Float32Array(p.tensor.size) }));
    for (let step = 1; step <= 2; step++) {
      params.forEach((p, i) => { p.tensor.grad = i === 2 ? null : Tensor.from(randn(rng, p.tensor.size, 0.5), [p.tensor.size]); });
      const grads = params.map((p) => p.tensor.grad?.data.slice() ?? null);
      const sq = grads.reduce((s, g) => s + (g ? referenceKernels.sumSquares(g, g.length) : 0), 0);
      const norm = opt.clipGradNorm(1);
      expect(norm).toBeCloseTo(Math.sqrt(sq), 6);
      const scale = norm > 1 ? 1 / (norm + 1e-6) : 1;
      opt.update(1e-2);
      params.forEach((p, i) => {
        const g = grads[i];
        if (!g) return;
        const gs = Float32Array.from(g, (x) => x * scale);
        referenceKernels.adamw(want[i].p, gs, want[i].m, want[i].v, p.tensor.size, 1e-2, 0.9, 0.99, 1e-8, p.decay ? 0.1 : 0, step);
      });
      params.forEach((p, i) => {
        if (i === 2) expect(Array.from(p.tensor.data)).toEqual(Array.from(want[i].p)); // no gradient: untouched
        else for (let j = 0; j < p.tensor.size; j += 97) expect(p.tensor.data[j]).toBeCloseTo(want[i].p[j], 5);
      });
    }
  });
});
