// Property tests (fast-check) on every available kernel implementation: invariants that must hold for all
// inputs, not just the hand-picked shapes of the conformance suite.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nativeStatus, referenceKernels } from '../../src/kernels/index.js';
import type { Kernels } from '../../src/kernels/types.js';
import { randInts, randn, ropeTables, Rng } from './helpers.js';
import { decodeBf16, decodeF16, materialise, nearestBf16, nearestF16 } from './naive.js';

const native = nativeStatus().kernels;
const impls: Kernels[] = native ? [referenceKernels, native] : [referenceKernels];
const RUNS = { numRuns: 80 };

/** uniform [-1, 1) matrix data */
function unif(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => 2 * rng.uniform() - 1);
}

function matmulRef(k: Kernels, a: Float32Array, b: Float32Array, M: number, N: number, K: number): Float32Array {
  const c = new Float32Array(M * N);
  k.gemm(c, a, b, 1, M, N, K, false, false, 0, 0, 0);
  return c;
}

/** |A| @ |B| @ |C| in double: the scale that rounding errors of the product are proportional to */
function absBound(a: Float32Array, b: Float32Array, c: Float32Array,
  M: number, K1: number, K2: number, N: number): number[] {
  const ab = matmulRef(referenceKernels, a.map(Math.abs), b.map(Math.abs), M, K2, K1);
  return Array.from(matmulRef(referenceKernels, ab, c.map(Math.abs), M, N, K2));
}

describe.each(impls.map((k) => ({ name: k.name, k })))('$name kernel properties', ({ k }) => {
  it('softmax rows are in [0, 1] and sum to 1', () => {
    const arb = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 40 })).chain(([N, C]) =>
      fc.tuple(fc.constant(N), fc.constant(C),
        fc.float32Array({ minLength: N * C, maxLength: N * C, min: -80, max: 80, noNaN: true })));
    fc.assert(fc.property(arb, ([N, C, x]) => {
      const y = new Float32Array(N * C);
      k.softmax(y, x, N, C);
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let c = 0; c < C; c++) {
          const p = y[n * C + c];
          expect(p >= 0 && p <= 1, `p = ${p}`).toBe(true);
          s += p;
        }
        expect(Math.abs(s - 1)).toBeLessThan(1e-5);
      }
    }), RUNS);
  });

  it('matmul is associative: (A @ B) @ C ~ A @ (B @ C)', () => {
    const dims = fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 2 ** 31 }));
    fc.assert(fc.property(dims, ([M, K1, K2, N, seed]) => {
      const rng = new Rng(seed);
      const [a, b, c] = [unif(rng, M * K1), unif(rng, K1 * K2), unif(rng, K2 * N)];
      const left = matmulRef(k, matmulRef(k, a, b, M, K2, K1), c, M, N, K2);
      const right = matmulRef(k, a, matmulRef(k, b, c, K1, N, K2), M, N, K1);
      const bound = absBound(a, b, c, M, K1, K2, N);
      left.forEach((l, i) => expect(Math.abs(l - right[i])).toBeLessThanOrEqual(1e-6 * (bound[i] + 1)));
    }), RUNS);
  });

  it('gemm with transA/transB equals gemm of explicitly transposed copies', () => {
    const arb = fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 }),
      fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 2 ** 31 }));
    fc.assert(fc.property(arb, ([M, N, K, transA, transB, seed]) => {
      const rng = new Rng(seed);
      const a = unif(rng, M * K); // stored [K, M] when transA
      const b = unif(rng, K * N); // stored [N, K] when transB
      const c = new Float32Array(M * N);
      k.gemm(c, a, b, 1, M, N, K, transA, transB, 0, 0, 0);
      const aPlain = Float32Array.from(materialise(a, 0, M, K, transA).flat());
      const bPlain = Float32Array.from(materialise(b, 0, K, N, transB).flat());
      const want = matmulRef(k, aPlain, bPlain, M, N, K);
      // the reference sums in the same order either way, so it must agree bit for bit
      const tol = k.name === 'reference' ? 0 : 1e-6 * Math.max(1, K);
      c.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(tol));
    }), RUNS);
  });

  it('bf16 and f16 codes survive a round trip through f32 exactly (all 65536 of each)', () => {
    const codes = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const f = new Float32Array(65536);
    const back = new Uint16Array(65536);
    const formats = [[k.bf16ToF32, k.f32ToBf16, decodeBf16], [k.f16ToF32, k.f32ToF16, decodeF16]] as const;
    for (const [to, from, decode] of formats) {
      to.call(k, f, codes, 65536);
      from.call(k, back, f, 65536);
      for (let h = 0; h < 65536; h++) {
        if (Number.isNaN(decode(h))) expect(decode(back[h])).toBeNaN();
        else if (back[h] !== h) expect(back[h], `code ${h}`).toBe(h);
      }
    }
  });

  it('f32 -> bf16 and f32 -> f16 round to the nearest code, ties to even', () => {
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    const fromBits = (bits: number): number => ((u[0] = bits), f[0]);
    const anyF32 = fc.integer({ min: 0, max: 0xffffffff }).map(fromBits);
    // exactly half way between two bf16 codes
    const bf16Tie = fc.integer({ min: 0, max: 0xffff }).map((h) => fromBits(((h << 16) | 0x8000) >>> 0));
    const halfRange = fc.tuple(fc.boolean(), fc.integer({ min: -27, max: 16 }), fc.integer({ min: 0, max: 0x7fffff }))
      .map(([neg, e, m]) => (neg ? -1 : 1) * (1 + m / 2 ** 23) * 2 ** e);
    const f16Tie = fc.integer({ min: 0, max: 0x7bff }).map((h) => (decodeF16(h) + decodeF16(h + 1)) / 2);
    const arb = fc.oneof(anyF32, bf16Tie, halfRange, f16Tie).filter((x) => !Number.isNaN(x));
    const out = new Uint16Array(1);
    fc.assert(fc.property(arb, (x) => {
      const src = Float32Array.of(x);
      k.f32ToBf16(out, src, 1);
      expect(out[0], `bf16 of ${x}`).toBe(nearestBf16(src[0]));
      k.f32ToF16(out, src, 1);
      expect(out[0], `f16 of ${x}`).toBe(nearestF16(src[0]));
    }), { numRuns: 400 });
  });

  it('crossEntropy loss is >= 0 and equals -log softmax[target]', () => {
    const arb = fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 50 }),
      fc.double({ min: 0, max: 10, noNaN: true }), fc.integer({ min: 0, max: 2 ** 31 }));
    fc.assert(fc.property(arb, ([N, V, scale, seed]) => {
      const rng = new Rng(seed);
      const logits = randn(rng, N * V, scale);
      const targets = randInts(rng, N, 0, V);
      const losses = new Float32Array(N);
      k.crossEntropy(losses, null, logits, targets, N, V, 1);
      const p = new Float32Array(N * V);
      k.softmax(p, logits, N, V);
      for (let n = 0; n < N; n++) {
        expect(losses[n]).toBeGreaterThanOrEqual(0);
        const want = -Math.log(p[n * V + targets[n]]);
        expect(Math.abs(losses[n] - want)).toBeLessThanOrEqual(1e-5 + 1e-6 * want);
      }
    }), RUNS);
  });

  it('rope preserves the norm of every (i, i + D/2) pair', () => {
    const arb = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 0, max: 2 ** 31 }));
    fc.assert(fc.property(arb, ([N, H, halfD, seed]) => {
      const D = 2 * halfD;
      const P = 4096;
      const rng = new Rng(seed);
      const { cos, sin } = ropeTables(P, D);
      const pos = randInts(rng, N, 0, P);
      const x = randn(rng, N * H * D);
      const y = new Float32Array(N * H * D);
      k.rope(y, x, cos, sin, pos, N, H, D);
      for (let r = 0; r < N * H; r++) {
        for (let i = 0; i < halfD; i++) {
          const [a, b] = [r * D + i, r * D + i + halfD];
          const before = Math.hypot(x[a], x[b]);
          expect(Math.abs(Math.hypot(y[a], y[b]) - before)).toBeLessThanOrEqual(1e-6 * (before + 1));
        }
      }
    }), RUNS);
  });

  it('AdamW with zero gradient and zero decay leaves the parameters unchanged', () => {
    const arb = fc.tuple(fc.integer({ min: 0, max: 64 }), fc.double({ min: 1e-6, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 0.999, noNaN: true }), fc.double({ min: 0, max: 0.9999, noNaN: true }),
      fc.integer({ min: 1, max: 10000 }), fc.integer({ min: 0, max: 2 ** 31 }));
    fc.assert(fc.property(arb, ([n, lr, b1, b2, step, seed]) => {
      const param = randn(new Rng(seed), n);
      const before = Float32Array.from(param);
      const m = new Float32Array(n);
      const v = new Float32Array(n);
      k.adamw(param, new Float32Array(n), m, v, n, lr, b1, b2, 1e-8, 0, step);
      expect(Array.from(param)).toEqual(Array.from(before));
      expect(m.every((x) => x === 0) && v.every((x) => x === 0)).toBe(true);
    }), RUNS);
  });
});
