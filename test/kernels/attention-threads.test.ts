// Native attention under several thread counts. The blocked backward takes one pass per (batch row, kv head)
// when there are at least half as many of those as threads, and two passes otherwise, so 1, 3 and 8 threads
// reach both paths on the cross-implementation shapes; each must match the reference and repeat bit for bit, and
// the two paths must give the same bits (float32 and bf16 alike).
import { afterAll, describe, expect, it } from 'vitest';
import { referenceKernels } from '../../src/kernels/index.js';
import { loadNativeKernels, nativeBenchHooks } from '../../src/kernels/native.js';
import type { Kernels } from '../../src/kernels/types.js';
import { CROSS_CASES, compareOutputs } from './cross-cases.js';
import { Rng, randn } from './helpers.js';

const native = loadNativeKernels().kernels;
const hooks = nativeBenchHooks();
const before = hooks?.info().threads ?? 1;

describe.skipIf(!native || !hooks)('native attention does not depend on the thread count beyond rounding', () => {
  afterAll(() => hooks?.setThreads(before));
  const { tol, configs } = CROSS_CASES.attention;

  it.each([1, 3, 8])('%i threads: matches the reference and repeats exactly', (threads) => {
    hooks?.setThreads(threads);
    for (const cfg of configs) {
      const got = cfg.run(native as Kernels, new Rng(cfg.seed));
      const want = cfg.run(referenceKernels, new Rng(cfg.seed));
      const { maxAbsDiff, scaledErr } = compareOutputs(got, want);
      expect(scaledErr, `${cfg.label}: max abs diff ${maxAbsDiff}`).toBeLessThanOrEqual(tol);
      const again = cfg.run(native as Kernels, new Rng(cfg.seed));
      expect(compareOutputs(again, got).maxAbsDiff, `${cfg.label} repeated`).toBe(0);
    }
  });
});

describe.skipIf(!native || !hooks)('native attention backward gives the same bits on any thread count', () => {
  afterAll(() => hooks?.setThreads(before));
  // (batch row, kv head) units 2, 4 and 12: two passes from 5, 9 and 25 threads; 600 packed query rows (three
  // chunks of 256) against key blocks of 64 that straddle the chunks; one case with a sliding window
  const SHAPES = [
    { B: 1, T: 300, H: 4, Hkv: 2, D: 32, window: 0 },
    { B: 2, T: 200, H: 6, Hkv: 2, D: 48, window: 50 },
    { B: 4, T: 96, H: 9, Hkv: 3, D: 16, window: 0 },
  ];
  const u32 = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

  it.each(SHAPES)('B $B T $T H $H/$Hkv D $D window $window: 1, 2, 8 and 32 threads agree bit for bit', ({ B, T, H, Hkv, D, window }) => {
    const k = native as Kernels;
    const rng = new Rng(B * 1000 + T);
    const [q, kk, v, dout] = [randn(rng, B * T * H * D), randn(rng, B * T * Hkv * D), randn(rng, B * T * Hkv * D), randn(rng, B * T * H * D)];
    const bits = (x: Float32Array): Uint16Array => {
      const h = new Uint16Array(x.length);
      k.f32ToBf16(h, x, x.length);
      return h;
    };
    const [q16, k16, v16] = [bits(q), bits(kk), bits(v)];
    const scale = 1 / Math.sqrt(D);
    const run = (threads: number): number[][] => {
      hooks!.setThreads(threads);
      const out = new Float32Array(q.length);
      const lse = new Float32Array(B * H * T);
      k.attention(out, lse, q, kk, v, null, null, B, T, T, H, Hkv, D, scale, 1, window, 0);
      const g = [new Float32Array(q.length), new Float32Array(kk.length), new Float32Array(v.length)];
      k.attentionBackward(g[0], g[1], g[2], dout, q, kk, v, out, lse, null, null, B, T, T, H, Hkv, D, scale, 1, window, 0);
      const o16 = new Uint16Array(q.length);
      const lse16 = new Float32Array(B * H * T);
      k.attentionBf16Bits(o16, lse16, q16, k16, v16, null, null, B, T, T, H, Hkv, D, scale, 1, window, 0);
      const h = [new Float32Array(q.length), new Float32Array(kk.length), new Float32Array(v.length)];
      k.attentionBf16BitsBackward(h[0], h[1], h[2], dout, q16, k16, v16, o16, lse16, null, null, B, T, T, H, Hkv, D, scale, 1,
        window, 0, false);
      return [...g, ...h].map(u32);
    };
    const one = run(1);
    const names = ['dq', 'dk', 'dv', 'bf16 dq', 'bf16 dk', 'bf16 dv'];
    for (const threads of [2, 8, 32]) {
      const got = run(threads);
      got.forEach((g, i) => expect(g, `${threads} threads ${names[i]}`).toEqual(one[i]));
    }
  });
});

describe.skipIf(!native || !hooks)('native encoder attention backward gives the same bits on any thread count', () => {
  afterAll(() => hooks?.setThreads(before));
  // (batch row, head) units 2 and 8: fewer than half of 8 and 32 threads (they had run one after another on the
  // library's threads, whose split changed dk and dv with their number), with padding and a local window
  it.each([
    { B: 1, T: 512, H: 2, D: 64, window: -1, pad: 0 },
    { B: 2, T: 300, H: 4, D: 32, window: 40, pad: 37 },
  ])('B $B T $T H $H D $D window $window: 1, 2, 8 and 32 threads agree bit for bit', ({ B, T, H, D, window, pad }) => {
    const k = native as Kernels;
    const rng = new Rng(B * 100 + T);
    const n = B * T * H * D;
    const [q, kk, v, dout] = [randn(rng, n), randn(rng, n), randn(rng, n), randn(rng, n)];
    const mask = pad > 0 ? Int32Array.from({ length: B * T }, (_, i) => (i % T < T - pad ? 1 : 0)) : null;
    const run = (threads: number): number[][] => {
      hooks!.setThreads(threads);
      const [out, lse] = [new Float32Array(n), new Float32Array(B * H * T)];
      k.encoderAttention(out, lse, q, kk, v, mask, B, T, H, D, 0.125, window);
      const g = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
      k.encoderAttentionBackward(g[0], g[1], g[2], dout, q, kk, v, out, lse, mask, B, T, H, D, 0.125, window);
      return [out, ...g].map((a) => Array.from(new Uint32Array(a.buffer)));
    };
    const one = run(1);
    for (const threads of [2, 8, 32]) run(threads).forEach((g, i) => expect(g, `${threads} threads, output ${i}`).toEqual(one[i]));
  });
});
