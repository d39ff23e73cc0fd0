// The norms' backward when their weights train (full fine-tuning): each weight's (and bias's) gradient sums over the
// rows in fixed blocks, added in block order, so it is the same bits on any thread count by construction (per-thread
// double partials, rounded once, had agreed on these shapes by the odds); dx is per row anyway.
import { describe, expect, it } from 'vitest';
import { loadNativeKernels, nativeBenchHooks } from '../../src/kernels/native.js';
import { referenceKernels } from '../../src/kernels/index.js';
import { maxRelErr, randn, Rng } from './helpers.js';

const native = loadNativeKernels().kernels;
const hooks = nativeBenchHooks();

describe.skipIf(!native || !hooks)('native norm backward with trained weights', () => {
  const u32 = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

  // N 1,000: 32 blocks of 32 rows, the last one short; N 40: blocks of 16 rows; N 5: one block
  it.each([[1000, 96], [40, 300], [5, 17]])('N %i, C %i: rmsnorm and layernorm gradients the same bits on 1, 2, 8 and 32 threads', (N, C) => {
    const rng = new Rng(N + C);
    const [x, w, b, dout] = [randn(rng, N * C), randn(rng, C), randn(rng, C), randn(rng, N * C)];
    const [dw0, db0] = [randn(rng, C), randn(rng, C)];
    const run = (k: typeof native, threads: number | null): number[][] => {
      if (threads !== null) hooks!.setThreads(threads);
      const [out, rstd, mean] = [new Float32Array(N * C), new Float32Array(N), new Float32Array(N)];
      k!.rmsnorm(out, rstd, x, w, N, C, 1e-6);
      const [dx, dw] = [new Float32Array(N * C), Float32Array.from(dw0)];
      k!.rmsnormBackward(dx, dw, dout, x, w, rstd, N, C);
      k!.layernorm(out, mean, rstd, x, w, b, N, C, 1e-5);
      const [lx, lw, lb] = [new Float32Array(N * C), Float32Array.from(dw0), Float32Array.from(db0)];
      k!.layernormBackward(lx, lw, lb, dout, x, w, mean, rstd, N, C);
      return [dx, dw, lx, lw, lb].map(u32);
    };
    const before = hooks!.info().threads;
    try {
      const one = run(native, 1);
      const names = ['rmsnorm dx', 'rmsnorm dw', 'layernorm dx', 'layernorm dw', 'layernorm db'];
      for (const threads of [2, 8, 32]) run(native, threads).forEach((g, i) => expect(g, `${threads} threads ${names[i]}`).toEqual(one[i]));
      const want = run(referenceKernels, null);
      one.forEach((g, i) => {
        const f = new Float32Array(new Uint32Array(g).buffer);
        const r = new Float32Array(new Uint32Array(want[i]).buffer);
        expect(maxRelErr(f, r, 1), `${names[i]} against the reference`).toBeLessThanOrEqual(1e-4);
      });
    } finally {
      hooks!.setThreads(before);
    }
  });
});
