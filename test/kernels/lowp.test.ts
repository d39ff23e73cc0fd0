// The bf16 mixed-precision kernels (lowp-types.ts): the reference twins against formulas written out here, and
// the native kernels against the reference on the same random inputs (odd sizes, LoRA rank 0 and 3, bias or
// none, GQA, windows, segments, ALiBi, soft-caps, queries that see no key). Outputs are bf16, so two correct
// implementations may round a value that sits on a bf16 boundary differently: comparisons allow one bf16 step
// (2^-8 relative) where a sum feeds a rounding.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeStatus, referenceKernels } from '../../src/kernels/index.js';
import { nativeBenchHooks } from '../../src/kernels/native.js';
import type { Kernels } from '../../src/kernels/types.js';
import { bf16Bits, bf16Value, snap } from '../../src/kernels/ref/lowp.js';
import { maxRelErr, randInts, randn, Rng } from './helpers.js';

const native = nativeStatus().kernels;
const ref = referenceKernels;

const widen = (u: Uint16Array): Float32Array => Float32Array.from(u, bf16Value);
const bits = (a: Float32Array): Uint16Array => Uint16Array.from(a, bf16Bits);

/** run() on one thread, then on 2, 3, 8 and 16: each result must be the one-thread result bit for bit, which is
 *  returned (the thread count is put back). */
function sameBitsOnThreads(label: string, run: () => Float32Array): Float32Array {
  const hooks = nativeBenchHooks();
  const before = hooks!.info().threads;
  try {
    hooks!.setThreads(1);
    const one = run();
    for (const threads of [2, 3, 8, 16]) {
      hooks!.setThreads(threads);
      expect(Array.from(run()), `${threads} threads ${label}`).toEqual(Array.from(one));
    }
    return one;
  } finally {
    hooks!.setThreads(before);
  }
}

/** max |a - b| / (|b| + 1) over two outputs, printed with a label */
function agree(label: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  expect(got.length, label).toBe(want.length);
  const err = maxRelErr(got, want, 1);
  console.log(`${label}: max scaled diff ${err.toExponential(2)}`);
  expect(err, label).toBeLessThanOrEqual(tol);
}

describe('reference bf16 kernels follow their formulas', () => {
  it('gemmBf16Ld multiplies bf16 operands with leading dimensions and beta', () => {
    const rng = new Rng(1);
    const [M, N, K, lda, ldb, ldc] = [3, 4, 5, 7, 6, 9];
    const a = bits(randn(rng, M * lda));
    const b = bits(randn(rng, N * ldb));
    const c = randn(rng, M * ldc);
    const c0 = c.slice();
    ref.gemmBf16Ld(c, a, b, M, N, K, false, true, 1, lda, ldb, ldc);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += bf16Value(a[m * lda + k]) * bf16Value(b[n * ldb + k]);
        expect(c[m * ldc + n]).toBeCloseTo(Math.fround(s + c0[m * ldc + n]), 5);
      }
      expect(c[m * ldc + N]).toBe(c0[m * ldc + N]); // beyond N, nothing is written
    }
  });

  it('bf16LinearOut rounds the base, the LoRA term and their sum; R = 0 is the rounded base plus bias', () => {
    const rng = new Rng(2);
    const [N, O, R, s] = [2, 3, 2, 2.5];
    const yext = randn(rng, N * (O + R));
    const bias = randn(rng, O);
    const B = randn(rng, O * R);
    const y16 = new Uint16Array(N * O);
    const u16 = new Uint16Array(N * R);
    ref.bf16LinearOut(y16, u16, yext, bias, B, s, N, O, R);
    for (let n = 0; n < N; n++) {
      const u = [0, 1].map((r) => snap(yext[n * (O + R) + O + r]));
      expect(Array.from(u16.subarray(n * R, n * R + R), bf16Value)).toEqual(u);
      for (let o = 0; o < O; o++) {
        const lora = snap(snap(Math.fround(u[0] * snap(B[o * R]) + u[1] * snap(B[o * R + 1]))) * s);
        expect(bf16Value(y16[n * O + o])).toBe(snap(snap(yext[n * (O + R) + o] + bias[o]) + lora));
      }
    }
    const plain = new Uint16Array(N * O);
    const yPlain = randn(rng, N * O);
    ref.bf16LinearOut(plain, null, yPlain, null, null, 0, N, O, 0);
    expect(Array.from(plain)).toEqual(Array.from(bits(yPlain)));
  });

  it('swigluBf16 and rmsnormBf16 round the float results', () => {
    const rng = new Rng(3);
    const g = bits(randn(rng, 9));
    const u = bits(randn(rng, 9));
    const m = new Uint16Array(9);
    ref.swigluBf16(m, g, u, 9);
    for (let i = 0; i < 9; i++) {
      const gv = bf16Value(g[i]);
      expect(bf16Value(m[i])).toBe(snap(snap(gv / (1 + Math.exp(-gv))) * bf16Value(u[i])));
    }
    const x = randn(rng, 2 * 5);
    const w = randn(rng, 5);
    const out = new Float32Array(10);
    const rstd = new Float32Array(2);
    ref.rmsnorm(out, rstd, x, w, 2, 5, 1e-5);
    const out16 = new Uint16Array(10);
    const rstd16 = new Float32Array(2);
    ref.rmsnormBf16(out16, rstd16, x, w, 2, 5, 1e-5);
    expect(Array.from(widen(out16))).toEqual(Array.from(out, snap));
    expect(Array.from(rstd16)).toEqual(Array.from(rstd));
  });
});

/** Cases run on both implementations from the same seed; returns the outputs to compare. */
const CASES: { label: string; tol: number; run: (k: Kernels, rng: Rng) => ArrayLike<number>[] }[] = [
  // scale 1.5, and 2 (a power of two: the backward sums without a dv buffer, by rows for du and by columns for dB)
  // (N 150 at scale 2: dB summed over three blocks of 64 rows, then the blocks' sums)
  ...[[5, 7, 9, 0, 1.5], [33, 70, 130, 3, 1.5], [64, 48, 96, 8, 1.5], [40, 150, 64, 8, 2], [150, 70, 40, 8, 2], [17, 33, 20, 3, 2], [9, 70, 16, 12, 4]]
    .map(([N, O, I, R, sc]) => ({
    label: `linear N=${N} O=${O} I=${I} R=${R} s=${sc}`, tol: 8e-3,
    run: (k: Kernels, rng: Rng) => {
      const x16 = bits(randn(rng, N * I));
      const w16 = bits(randn(rng, (O + R) * I, 0.2));
      const yext = new Float32Array(N * (O + R));
      k.gemmBf16Ld(yext, x16, w16, N, O + R, I, false, true, 0, I, I, O + R);
      const y16 = new Uint16Array(N * O);
      const u16 = new Uint16Array(N * R);
      const B = randn(rng, O * R, 0.3);
      const bias = R === 3 ? randn(rng, O) : null;
      k.bf16LinearOut(y16, R ? u16 : null, yext, bias, R ? B : null, sc, N, O, R);
      const dy = randn(rng, N * O);
      const g16 = new Uint16Array(N * (O + R));
      const dB = randn(rng, O * R);
      k.bf16LinearGrad(g16, R ? dB : null, dy, R ? u16 : null, R ? B : null, sc, N, O, R);
      const dx = randn(rng, N * I);
      k.gemmBf16Ld(dx, g16, w16, N, I, O + R, false, false, 1, O + R, I, I);
      const dA = randn(rng, R * I);
      const tmp = new Float32Array(R * I);
      if (R) k.gemmBf16Ld(tmp, g16.subarray(O), x16, R, I, N, true, false, 0, O + R, I, I);
      k.bf16Accumulate(dA, tmp, R * I);
      return [yext, widen(y16), widen(u16), widen(g16), dB, dx, dA];
    },
  })),
  ...[0, 1, 1003].map((n) => ({
    label: `swiglu n=${n}`, tol: 8e-3,
    run: (k: Kernels, rng: Rng) => {
      const g = bits(randn(rng, n, 2));
      const u = bits(randn(rng, n));
      const m = new Uint16Array(n);
      k.swigluBf16(m, g, u, n);
      const dg = randn(rng, n);
      const du = randn(rng, n);
      const dm = randn(rng, n);
      k.swigluBf16Backward(dg, du, dm, g, u, n, true);
      const [wg, wu] = [new Float32Array(n).fill(NaN), new Float32Array(n).fill(NaN)]; // written whole
      k.swigluBf16Backward(wg, wu, dm, g, u, n, false);
      return [widen(m), dg, du, wg, wu];
    },
  })),
  ...[[3, 5, 1], [7, 576, 0.5]].map(([N, C, mult]) => ({
    label: `norms N=${N} C=${C} mult=${mult}`, tol: 8e-3,
    run: (k: Kernels, rng: Rng) => {
      const x = randn(rng, N * C);
      const w = randn(rng, C);
      const out16 = new Uint16Array(N * C);
      const rstd = new Float32Array(N);
      k.rmsnormBf16(out16, rstd, x, w, N, C, 1e-5);
      const y = randn(rng, N * C);
      const sum = new Float32Array(N * C);
      const out = new Float32Array(N * C);
      const rstd2 = new Float32Array(N);
      k.addRmsnorm(sum, out, null, rstd2, x, y, null, mult, w, N, C, 1e-6);
      const sum16 = new Float32Array(N * C);
      const o16 = new Uint16Array(N * C);
      k.addRmsnorm(sum16, null, o16, rstd2, x, null, bits(y), mult, w, N, C, 1e-6);
      return [widen(out16), rstd, sum, out, sum16, widen(o16)];
    },
  })),
  ...([
    { B: 2, Tq: 19, Tk: 19, H: 4, Hkv: 2, D: 8, causal: 1, window: 0, seg: false, alibi: false, cap: 0 },
    { B: 1, Tq: 40, Tk: 40, H: 3, Hkv: 1, D: 16, causal: 1, window: 6, seg: true, alibi: true, cap: 0 },
    { B: 1, Tq: 5, Tk: 37, H: 2, Hkv: 2, D: 12, causal: 1, window: 0, seg: false, alibi: false, cap: 20 },
    { B: 2, Tq: 33, Tk: 33, H: 2, Hkv: 1, D: 8, causal: 0, window: 0, seg: true, alibi: false, cap: 0 },
  ]).map((c) => ({
    label: `attention B=${c.B} Tq=${c.Tq} Tk=${c.Tk} H=${c.H}/${c.Hkv} D=${c.D} causal=${c.causal} window=${c.window}` +
      `${c.seg ? ' seg' : ''}${c.alibi ? ' alibi' : ''}${c.cap ? ` cap=${c.cap}` : ''}`,
    tol: 2e-2,
    run: (k: Kernels, rng: Rng) => {
      const { B, Tq, Tk, H, Hkv, D } = c;
      const q = randn(rng, B * Tq * H * D);
      const kk = randn(rng, B * Tk * Hkv * D);
      const v = randn(rng, B * Tk * Hkv * D);
      const alibi = c.alibi ? Float32Array.from({ length: H }, (_, h) => -0.1 * (h + 1)) : null;
      const seg = c.seg ? randInts(rng, B * Tk, 0, 2).sort() : null;
      const out = new Float32Array(B * Tq * H * D);
      const out16 = new Uint16Array(out.length);
      const lse = new Float32Array(B * H * Tq);
      const scale = 1 / Math.sqrt(D);
      k.attentionBf16(out, out16, lse, q, kk, v, alibi, seg, B, Tq, Tk, H, Hkv, D, scale, c.causal, c.window, c.cap);
      const dq = new Float32Array(q.length);
      const dk = new Float32Array(kk.length);
      const dv = new Float32Array(v.length);
      const dout = randn(rng, out.length);
      k.attentionBf16Backward(dq, dk, dv, dout, q, kk, v, out, lse, alibi, seg, B, Tq, Tk, H, Hkv, D, scale, c.causal, c.window, c.cap, true);
      // the bf16-bits entry points on the rounded inputs: the float ones' results on their widened values, exactly
      const [q16, k16, v16] = [bits(q), bits(kk), bits(v)];
      const b16 = new Uint16Array(out.length);
      const lse2 = new Float32Array(lse.length);
      k.attentionBf16Bits(b16, lse2, q16, k16, v16, alibi, seg, B, Tq, Tk, H, Hkv, D, scale, c.causal, c.window, c.cap);
      const o2 = new Uint16Array(out.length);
      const lse3 = new Float32Array(lse.length);
      k.attentionBf16(null, o2, lse3, widen(q16), widen(k16), widen(v16), alibi, seg, B, Tq, Tk, H, Hkv, D, scale, c.causal, c.window, c.cap);
      expect(Array.from(b16), 'bits forward').toEqual(Array.from(o2));
      expect(Array.from(lse2), 'bits lse').toEqual(Array.from(lse3));
      const g1 = [new Float32Array(q.length), new Float32Array(kk.length), new Float32Array(v.length)];
      const g2 = [new Float32Array(q.length), new Float32Array(kk.length), new Float32Array(v.length)];
      k.attentionBf16BitsBackward(g1[0], g1[1], g1[2], dout, q16, k16, v16, b16, lse2, alibi, seg, B, Tq, Tk, H, Hkv, D, scale, c.causal, c.window, c.cap, true);
      k.attentionBf16Backward(g2[0], g2[1], g2[2], dout, widen(q16), widen(k16), widen(v16), widen(o2), lse3, alibi, seg,
        B, Tq, Tk, H, Hkv, D, scale, c.causal, c.window, c.cap, true);
      g1.forEach((g, i) => expect(Array.from(g), `bits backward ${i}`).toEqual(Array.from(g2[i])));
      // accumulate false writes every element (NaN-filled buffers): the sums added to zeros above, exactly; true adds
      // to what is there
      const w = g1.map((g) => new Float32Array(g.length).fill(NaN));
      k.attentionBf16BitsBackward(w[0], w[1], w[2], dout, q16, k16, v16, b16, lse2, alibi, seg, B, Tq, Tk, H, Hkv, D, scale, c.causal, c.window, c.cap, false);
      w.forEach((g, i) => expect(Array.from(g), `written backward ${i}`).toEqual(Array.from(g1[i])));
      const base = g1.map((g) => randn(rng, g.length));
      const acc = base.map((b) => Float32Array.from(b));
      k.attentionBf16BitsBackward(acc[0], acc[1], acc[2], dout, q16, k16, v16, b16, lse2, alibi, seg, B, Tq, Tk, H, Hkv, D, scale, c.causal, c.window, c.cap, true);
      acc.forEach((g, i) => g.forEach((x, j) => expect(Math.abs(x - (base[i][j] + g1[i][j])), `added backward ${i}`).toBeLessThanOrEqual(1e-6 * (Math.abs(base[i][j]) + Math.abs(g1[i][j])) + 1e-7)));
      return [out, widen(out16), lse, dq, dk, dv, widen(b16), ...g1];
    },
  })),
];

describe.skipIf(!native)('native bf16 kernels match the reference', () => {
  it.each(CASES)('$label', ({ label, tol, run }) => {
    const got = run(native!, new Rng(label.length * 7919));
    const want = run(ref, new Rng(label.length * 7919));
    got.forEach((g, i) => agree(`${label} output ${i}`, g, want[i], tol));
  });

  it('ropeBf16 gives rope on the widened rows rounded once, in place or not', () => {
    const rng = new Rng(41);
    const [N, H, D, P] = [37, 3, 18, 64]; // D 18: a half of 9 (past the 8-wide blocks)
    const cos = Float32Array.from({ length: P * D / 2 }, (_, i) => Math.cos(0.37 * i));
    const sin = Float32Array.from({ length: P * D / 2 }, (_, i) => Math.sin(0.37 * i));
    const pos = randInts(rng, N, 0, P);
    const x16 = bits(randn(rng, N * H * D, 3));
    for (const k of [native!, ref]) {
      const f = widen(x16);
      k.rope(f, f, cos, sin, pos, N, H, D);
      const want = new Uint16Array(f.length);
      k.f32ToBf16(want, f, f.length);
      const got = new Uint16Array(x16.length);
      k.ropeBf16(got, x16, cos, sin, pos, N, H, D);
      expect(Array.from(got), `${k.name}`).toEqual(Array.from(want));
      const inPlace = Uint16Array.from(x16);
      k.ropeBf16(inPlace, inPlace, cos, sin, pos, N, H, D);
      expect(Array.from(inPlace), `${k.name} in place`).toEqual(Array.from(want));
    }
    expect(() => native!.ropeBf16(new Uint16Array(6), new Uint16Array(6), cos, sin, Int32Array.of(P * 9), 1, 1, 6)) // past the table
      .toThrow(/ropeBf16.*pos/);
  });

  it('crossEntropyBf16 writes the losses of crossEntropy and its gradient rounded to bf16, in one pass', () => {
    const rng = new Rng(31);
    for (const [N, V] of [[4, 1003], [3, 40000]]) { // widths past the 8- and 16-wide blocks
      const logits = randn(rng, N * V, 8);
      const targets = Int32Array.from({ length: N }, (_, i) => (i === 2 ? -100 : (i * 7919 + 5) % V)); // row 2 ignored
      const [lf, df] = [new Float32Array(N), new Float32Array(N * V)];
      native!.crossEntropy(lf, df, logits, targets, N, V, 0.125);
      for (const k of [native!, ref]) {
        const [l16, g16] = [new Float32Array(N), new Uint16Array(N * V).fill(0x7fc0)];
        k.crossEntropyBf16(l16, g16, Float32Array.from(logits), targets, N, V, 0.125);
        if (k === native) {
          expect(Array.from(l16), `${k.name} losses`).toEqual(Array.from(lf));
          expect(Array.from(g16), `${k.name} gradient`).toEqual(Array.from(df, bf16Bits)); // the same row code, rounded
        } else {
          agree(`reference crossEntropyBf16 ${N} x ${V} losses`, l16, lf, 1e-5);
          agree(`reference crossEntropyBf16 ${N} x ${V} gradient`, widen(g16), Float32Array.from(df, (x) => bf16Value(bf16Bits(x))), 4e-3);
        }
        expect(g16.subarray(2 * V, 3 * V).every((b) => b === 0), `${k.name} ignored row`).toBe(true);
      }
    }
    expect(() => native!.crossEntropyBf16(new Float32Array(2), new Uint16Array(5), new Float32Array(6), Int32Array.of(0, 1), 2, 3, 1))
      .toThrow(/crossEntropyBf16.*g16/);
  });

  it('bf16 attention on 1 and 8 threads: one pass per (batch row, kv head) or two (dq, then dk and dv by key block)', () => {
    const hooks = nativeBenchHooks();
    const before = hooks!.info().threads;
    try {
      for (const threads of [1, 8]) { // 8 threads: the cases with one or two (batch row, kv head) pairs take two passes
        hooks!.setThreads(threads);
        for (const { label, tol, run } of CASES.filter((c) => c.label.startsWith('attention'))) {
          const got = run(native!, new Rng(label.length * 7919)); // asserts written = added to zeros, exactly
          const want = run(ref, new Rng(label.length * 7919));
          got.forEach((g, i) => agree(`${threads} threads ${label} output ${i}`, g, want[i], tol));
        }
      }
    } finally {
      hooks!.setThreads(before);
    }
  });

  it('bf16LinearGrad at a power-of-two scale gives the same bits on 1, 2, 3 and 8 threads (dB by fixed blocks of rows)', () => {
    const hooks = nativeBenchHooks();
    const before = hooks!.info().threads;
    const rng = new Rng(31);
    // N 300: five blocks of 64 rows, the last one short; O past the 16- and 32-column groups; R past eight; r(B)
    // past 24 KB (1,544 x 8, 900 x 12: du summed in spans of columns over each block's rows)
    for (const [N, O, R] of [[300, 200, 8], [300, 53, 12], [64, 1544, 8], [7, 40, 3], [70, 900, 12]]) {
      const dy = randn(rng, N * O);
      const u16 = bits(randn(rng, N * R));
      const B = randn(rng, O * R, 0.3);
      const dB0 = randn(rng, O * R);
      const run = (): [Uint16Array, Float32Array] => {
        const g16 = new Uint16Array(N * (O + R));
        const dB = Float32Array.from(dB0);
        native!.bf16LinearGrad(g16, dB, dy, u16, B, 2, N, O, R);
        return [g16, dB];
      };
      try {
        hooks!.setThreads(1);
        const [g1, d1] = run();
        for (const threads of [2, 3, 8]) {
          hooks!.setThreads(threads);
          const [g, d] = run();
          expect(Array.from(g), `${threads} threads g16 N ${N} O ${O}`).toEqual(Array.from(g1));
          expect(Array.from(d), `${threads} threads dB N ${N} O ${O}`).toEqual(Array.from(d1));
        }
        const [g2, d2] = [new Uint16Array(N * (O + R)), Float32Array.from(dB0)];
        ref.bf16LinearGrad(g2, d2, dy, u16, B, 2, N, O, R);
        agree(`dB N ${N} O ${O} R ${R} against the reference`, d1, d2, 1e-5);
        agree(`g16 N ${N} O ${O} R ${R} against the reference`, widen(g1), widen(g2), 8e-3);
      } finally {
        hooks!.setThreads(before);
      }
    }
  });

  it('gemmBf16Ld on a LoRA factor\'s gradient (few rows over many tokens) gives the same bits on 1, 2, 3, 8 and 16 threads', () => {
    const rng = new Rng(37);
    // du^T x as the LoRA backward calls it: du read transposed out of [r(dY) | du] rows (lda O + R); C's columns go
    // out in strips of 16 (or pairs of them) and 8, then one at a time: widths a whole number of strips (576, 1536),
    // with 8 columns past them (200, 1000, 584) or fewer (230, 1003); ranks in groups of 8, the last one short (3,
    // 12, 20); M 32 is the largest such C; beta 0 and 1. One oneDNN call for 3 x 130 x 3000 gave other sums on 3
    // threads than on 1
    for (const [M, N, K, beta] of [[8, 576, 300, 0], [8, 200, 1024, 1], [32, 1000, 40, 0], [3, 230, 3000, 1],
      [12, 584, 700, 1], [8, 1536, 1024, 0], [20, 1003, 90, 0]]) {
      const O = 37, lda = O + M;
      const g16 = bits(randn(rng, K * lda, 0.1));
      const x16 = bits(randn(rng, K * N));
      const c0 = randn(rng, M * N);
      const run = (k: Kernels): Float32Array => {
        const c = Float32Array.from(c0);
        k.gemmBf16Ld(c, g16.subarray(O), x16, M, N, K, true, false, beta, lda, N, N);
        return c;
      };
      const c1 = sameBitsOnThreads(`${M}x${N}x${K}`, () => run(native!));
      agree(`gemmBf16Ld ${M}x${N}x${K} TN beta ${beta} against the reference`, c1, run(ref), 1e-5);
    }
  });

  it('gemmBf16Ld along a vocabulary-long K (the LM head\'s backward) gives the same bits on 1, 2, 3, 8 and 16 threads', () => {
    const rng = new Rng(41);
    // K >= 16,384 and >= 8 (M + N): fixed chunks of K, added in order. One oneDNN call split K once it had more
    // threads than blocks of C: 24 x 48 x 20,480 gave other sums from 2 threads on, 342 x 576 x 49,152 from 16
    for (const [M, N, K, ta, tb, beta] of [[24, 48, 20480, false, false, 0], [24, 48, 20480, true, true, 1], [7, 130, 40001, false, true, 1]] as const) {
      const a16 = bits(randn(rng, M * K, 0.1));
      const b16 = bits(randn(rng, N * K, 0.1));
      const c0 = randn(rng, M * N);
      const run = (k: Kernels): Float32Array => {
        const c = Float32Array.from(c0);
        k.gemmBf16Ld(c, a16, b16, M, N, K, ta, tb, beta, ta ? M : K, tb ? K : N, N);
        return c;
      };
      const c1 = sameBitsOnThreads(`${M}x${N}x${K}`, () => run(native!));
      agree(`gemmBf16Ld ${M}x${N}x${K} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} beta ${beta} against the reference`, c1, run(ref), 1e-5);
    }
  });

  it('a weight\'s gradient over many tokens (K long against M and N) gives the same bits on 1, 2, 3, 8 and 16 threads, bf16 and float32', () => {
    const rng = new Rng(43);
    // K >= 1,024 and >= M + N with at most 2^20 outputs: fixed chunks of K, added in order. One library call split K
    // once it had more threads than blocks of C: 64 x 64 x 4,096 from 8 threads (both precisions), 256 x 256 x 2,048
    // from 16 (bf16)
    for (const [M, N, K, ta, tb, beta] of [[64, 64, 4096, true, false, 0], [256, 256, 2048, true, false, 1], [40, 72, 3001, false, true, 1]] as const) {
      const a = randn(rng, M * K, 0.1);
      const b = randn(rng, N * K, 0.1);
      const [a16, b16] = [bits(a), bits(b)];
      const c0 = randn(rng, M * N);
      const run16 = (k: Kernels): Float32Array => {
        const c = Float32Array.from(c0);
        k.gemmBf16Ld(c, a16, b16, M, N, K, ta, tb, beta, ta ? M : K, tb ? K : N, N);
        return c;
      };
      const run32 = (k: Kernels): Float32Array => {
        const c = Float32Array.from(c0);
        k.gemm(c, a, b, 1, M, N, K, ta, tb, beta, 0, 0);
        return c;
      };
      const label = `${M}x${N}x${K} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} beta ${beta}`;
      agree(`gemmBf16Ld ${label} against the reference`, sameBitsOnThreads(`bf16 ${label}`, () => run16(native!)), run16(ref), 1e-5);
      agree(`gemm ${label} against the reference`, sameBitsOnThreads(`float32 ${label}`, () => run32(native!)), run32(ref), 1e-5);
    }
  });

  it('bf16LinearOut gives the reference\'s bits, with the scale a power of two (rounded once) or not', () => {
    const rng = new Rng(12);
    // O 53: three blocks of 16 and a tail; O 133: two blocks of 64 (16 lanes where the CPU has AVX-512) and a tail;
    // O 1,600 and 900: r(B) past 24 KB, so the 16-lane columns go in spans (256 and 128 columns) over blocks of 16
    // rows (20 rows: a block cut short)
    for (const [N, O, R] of [[9, 53, 8], [5, 133, 8], [20, 1600, 8], [3, 900, 12]]) checkOut(rng, N, O, R);
  });

  function checkOut(rng: Rng, N: number, O: number, R: number): void {
    const yext = randn(rng, N * (O + R));
    const B = randn(rng, O * R, 0.3);
    const bias = randn(rng, O);
    for (const s of [0.5, 1, 1.5, 2, 4]) {
      for (const b of [bias, null]) {
        const [y1, u1, y2, u2] = [new Uint16Array(N * O), new Uint16Array(N * R), new Uint16Array(N * O), new Uint16Array(N * R)];
        native!.bf16LinearOut(y1, u1, yext, b, B, s, N, O, R);
        ref.bf16LinearOut(y2, u2, yext, b, B, s, N, O, R);
        expect(Array.from(u1), `u, scale ${s}`).toEqual(Array.from(u2));
        expect(Array.from(y1), `y, O ${O}, scale ${s}${b ? ', bias' : ''}`).toEqual(Array.from(y2));
      }
    }
  }

  it('the 16-lane epilogues, SwiGLU, cross-entropy, attention and LoRA factor gradient give the 8-lane ones\' bits (special values included)', () => {
    const run = (env: Record<string, string>): { path: string; outputs: Record<string, number[]> } => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures/lowp-paths.ts')],
        { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 64 << 20 });
      expect(r.status, r.stderr || String(r.error)).toBe(0);
      return JSON.parse(r.stdout) as { path: string; outputs: Record<string, number[]> };
    };
    const auto = run({ SHITATE_LOWP_512: '' });
    const narrow = run({ SHITATE_LOWP_512: '0' });
    expect(auto.path).toBe(nativeStatus().info?.bf16Elementwise);
    expect(narrow.path).toBe('avx2');
    expect(Object.keys(auto.outputs).length).toBe(49); // 6 shapes x 2 scales x (2 epilogues + 1 gradient), 5 SwiGLU sizes, 2 cross-entropies, 2 attentions, 4 LoRA factor gradients
    for (const [label, values] of Object.entries(narrow.outputs)) {
      expect(values.length, label).toBeGreaterThan(0);
      expect(auto.outputs[label], label).toEqual(values);
    }
  });

  it('bf16 attention matches float32 attention to bf16 accuracy', () => {
    const rng = new Rng(9);
    const [B, T, H, Hkv, D] = [2, 48, 4, 2, 16];
    const q = randn(rng, B * T * H * D);
    const k = randn(rng, B * T * Hkv * D);
    const v = randn(rng, B * T * Hkv * D);
    const [o32, o16, l32, l16] = [new Float32Array(q.length), new Float32Array(q.length), new Float32Array(B * H * T), new Float32Array(B * H * T)];
    native!.attention(o32, l32, q, k, v, null, null, B, T, T, H, Hkv, D, 0.25, 1, 0, 0);
    native!.attentionBf16(o16, new Uint16Array(q.length), l16, q, k, v, null, null, B, T, T, H, Hkv, D, 0.25, 1, 0, 0);
    agree('attention bf16 vs float32 output', o16, o32, 3e-2);
    agree('attention bf16 vs float32 lse', l16, l32, 3e-2);
  });

  it('refuses mismatched buffers with the kernel and argument named', () => {
    const k = native!;
    expect(() => k.bf16LinearOut(new Uint16Array(3), null, new Float32Array(4), null, null, 1, 2, 2, 0)).toThrow(/bf16LinearOut.*y16/);
    expect(() => k.addRmsnorm(new Float32Array(4), null, null, new Float32Array(2), new Float32Array(4), new Float32Array(4), null, 1,
      new Float32Array(2), 2, 2, 1e-5)).toThrow(/exactly one of out and out16/);
    expect(() => k.gemmBf16Ld(new Float32Array(4), new Uint16Array(4), new Uint16Array(4), 2, 2, 2, false, false, 0, 1, 2, 2))
      .toThrow(/leading dimensions/);
    // the bits entry points: bf16 inputs of the right length, named when not (B 1, T 4, H 2/1, D 8)
    const [q16, kv16, f] = [new Uint16Array(64), new Uint16Array(32), (n: number) => new Float32Array(n)];
    expect(() => k.attentionBf16Bits(new Uint16Array(64), f(8), q16, new Uint16Array(31), kv16, null, null, 1, 4, 4, 2, 1, 8, 0.35, 1, 0, 0))
      .toThrow(/attentionBf16Bits.*k16/);
    expect(() => k.attentionBf16BitsBackward(f(64), f(32), f(32), f(64), q16, kv16, kv16, new Uint16Array(63), f(8), null, null,
      1, 4, 4, 2, 1, 8, 0.35, 1, 0, 0, true)).toThrow(/attentionBf16BitsBackward.*out16/);
    expect(() => k.attentionBf16Backward(f(64), f(32), f(32), f(64), f(64), f(32), f(31), f(64), f(8), null, null,
      1, 4, 4, 2, 1, 8, 0.35, 1, 0, 0, true)).toThrow(/attentionBf16Backward.*\bv\b/);
  });
});
