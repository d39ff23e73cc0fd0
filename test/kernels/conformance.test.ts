// The shared kernel conformance suite. Every available implementation is checked against naive formulas;
// when the native addon loads, native and reference also run on identical random inputs and are compared
// (max abs diff printed per kernel). SHITATE_REQUIRE_NATIVE=1 turns a missing addon into a failure.
import { describe, expect, it } from 'vitest';
import { nativeStatus, referenceKernels } from '../../src/kernels/index.js';
import type { Kernels } from '../../src/kernels/types.js';
import { uniform } from '../../src/kernels/rng.js';
import { maxRelErr, randn, ropeTables, Rng } from './helpers.js';
import {
  attnLabel, decodeBf16, decodeF16, materialise, matmul, naiveAttention, NAIVE_ATTN_SPECS, nearestBf16, nearestF16,
  simpsonErf, type AttnSpec,
} from './naive.js';
import { CROSS_CASES, compareOutputs } from './cross-cases.js';

const native = nativeStatus().kernels;
const impls: Kernels[] = native ? [referenceKernels, native] : [referenceKernels];

/** float32-level agreement: |got - want| <= tol * (|want| + 1) */
function close(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-5, what = ''): void {
  expect(got.length, what).toBe(want.length);
  const err = maxRelErr(got, want, 1);
  expect(err, `${what} error ${err}`).toBeLessThanOrEqual(tol);
}

describe('native availability', () => {
  it('loads when SHITATE_REQUIRE_NATIVE=1, and otherwise either loads or says why not', () => {
    const s = nativeStatus();
    if (process.env.SHITATE_REQUIRE_NATIVE === '1') {
      expect(s.kernels, `native kernels required but missing: ${s.error ?? ''}`).not.toBeNull();
      expect(s.kernels?.name).toBe('native');
    } else {
      expect(s.kernels !== null || (s.error ?? '').length > 0).toBe(true);
    }
  });
});

describe.each(impls.map((k) => ({ name: k.name, k })))('$name kernels match the naive formulas', ({ k }) => {
  it('gemm: all transposes, batch strides (incl. broadcast), beta, subarray views', () => {
    const rng = new Rng(11);
    for (const [M, N, K] of [[1, 1, 1], [3, 5, 7], [9, 4, 13]]) {
      const combos = [[false, false, 0], [true, false, 1], [false, true, 0], [true, true, 1]] as const;
      for (const [transA, transB, beta] of combos) {
        const batch = 3;
        const pad = 5; // operands live at an offset inside bigger buffers
        const aBuf = randn(rng, pad + batch * M * K);
        const bBuf = randn(rng, pad + K * N); // one b broadcast over the batch (strideB = 0)
        const c = beta === 0 ? new Float32Array(batch * M * N).fill(NaN) : randn(rng, batch * M * N);
        const c0 = Float32Array.from(c);
        k.gemm(c, aBuf.subarray(pad), bBuf.subarray(pad), batch, M, N, K, transA, transB, beta, M * K, 0);
        const want: number[] = [];
        for (let b = 0; b < batch; b++) {
          const prod = matmul(materialise(aBuf, pad + b * M * K, M, K, transA), materialise(bBuf, pad, K, N, transB));
          prod.flat().forEach((x, i) => want.push(x + (beta === 0 ? 0 : c0[b * M * N + i])));
        }
        close(c, want, 1e-5, `gemm ${M}x${N}x${K} tA=${transA} tB=${transB} beta=${beta}`);
      }
    }
  });

  it('gemm with zero sizes neither crashes nor writes outside c', () => {
    const c = new Float32Array(8).fill(7);
    const z = (n: number): Float32Array => new Float32Array(n).fill(1); // operands sized exactly as declared
    k.gemm(c, z(0), z(12), 1, 0, 4, 3, false, false, 0, 0, 0); // M = 0
    k.gemm(c, z(6), z(0), 1, 2, 0, 3, false, false, 0, 0, 0); // N = 0
    k.gemm(c, z(6), z(12), 0, 2, 4, 3, false, false, 0, 6, 12); // batch = 0
    expect(Array.from(c)).toEqual(new Array(8).fill(7));
    k.gemm(c, z(0), z(0), 1, 2, 4, 0, false, true, 1, 0, 0); // K = 0, beta 1: c stays
    expect(Array.from(c)).toEqual(new Array(8).fill(7));
    k.gemm(c, z(0), z(0), 1, 2, 4, 0, true, false, 0, 0, 0); // K = 0, beta 0: zeros
    expect(Array.from(c)).toEqual(new Array(8).fill(0));
  });

  it('elementwise: add/mul (full and row broadcast), scale, axpy, sumRows, sumSquares', () => {
    const rng = new Rng(12);
    const [rows, cols] = [5, 7];
    const n = rows * cols;
    const a = randn(rng, n);
    const full = randn(rng, n);
    const row = randn(rng, cols);
    const out = new Float32Array(n);
    k.add(out, a, full, n, n);
    close(out, Array.from(a, (x, i) => Math.fround(x + full[i])), 0, 'add');
    k.add(out, a, row, n, cols);
    close(out, Array.from(a, (x, i) => Math.fround(x + row[i % cols])), 0, 'add broadcast');
    k.mul(out, a, row, n, cols);
    close(out, Array.from(a, (x, i) => Math.fround(x * row[i % cols])), 0, 'mul broadcast');
    k.mul(out, a, full, n, n);
    close(out, Array.from(a, (x, i) => Math.fround(x * full[i])), 0, 'mul');
    k.scale(out, a, -0.75, n);
    close(out, Array.from(a, (x) => Math.fround(x * -0.75)), 0, 'scale');
    const dst = Float32Array.from(full);
    k.axpy(dst, a, 0.5, n);
    close(dst, Array.from(a, (x, i) => full[i] + 0.5 * x), 1e-7, 'axpy');
    const sums = Float32Array.from(row); // accumulates
    k.sumRows(sums, a, rows, cols);
    const colSum = (c: number): number => Array.from({ length: rows }, (_, i) => a[i * cols + c]).reduce((s, x) => s + x, 0);
    close(sums, Array.from(row, (r, c) => r + colSum(c)), 1e-6, 'sumRows');
    expect(k.sumSquares(a, n)).toBeCloseTo(Array.from(a).reduce((s, x) => s + x * x, 0), 4);
    expect(k.sumSquares(a, 0)).toBe(0);
  });

  it('silu, swiglu, gelu (exact erf and tanh)', () => {
    const rng = new Rng(13);
    const n = 257;
    const x = randn(rng, n, 3);
    const up = randn(rng, n);
    const out = new Float32Array(n);
    const sig = (v: number): number => 1 / (1 + Math.exp(-v));
    k.silu(out, x, n);
    close(out, Array.from(x, (v) => v * sig(v)), 1e-6, 'silu');
    k.swiglu(out, x, up, n);
    close(out, Array.from(x, (v, i) => v * sig(v) * up[i]), 1e-6, 'swiglu');
    k.gelu(out, x, n, 0);
    close(out, Array.from(x, (v) => 0.5 * v * (1 + simpsonErf(v / Math.SQRT2))), 1e-6, 'gelu erf');
    k.gelu(out, x, n, 1);
    const c = Math.sqrt(2 / Math.PI);
    close(out, Array.from(x, (v) => 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v ** 3)))), 1e-6, 'gelu tanh');
  });

  it('geglu (exact erf and tanh), softcap and its backward', () => {
    const rng = new Rng(23);
    const n = 257;
    const gate = randn(rng, n, 3);
    const up = randn(rng, n);
    const out = new Float32Array(n);
    const c = Math.sqrt(2 / Math.PI);
    k.geglu(out, gate, up, n, 0);
    close(out, Array.from(gate, (v, i) => 0.5 * v * (1 + simpsonErf(v / Math.SQRT2)) * up[i]), 1e-6, 'geglu erf');
    k.geglu(out, gate, up, n, 1);
    close(out, Array.from(gate, (v, i) => 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v ** 3))) * up[i]), 1e-6, 'geglu tanh');
    // logits from tiny to far past the cap: tanh's small-argument branch, its large-argument branch, saturation
    const x = Float32Array.from(randn(rng, n, 1), (v, i) => v * 10 ** ((i % 7) - 3));
    const cap = 30;
    k.softcap(out, x, n, cap);
    close(out, Array.from(x, (v) => cap * Math.tanh(v / cap)), 2e-7, 'softcap');
    const dout = randn(rng, n);
    const dx = Float32Array.from(up); // accumulates
    k.softcapBackward(dx, dout, out, n, cap);
    close(dx, Array.from(x, (v, i) => up[i] + dout[i] * (1 - Math.tanh(v / cap) ** 2)), 1e-6, 'softcap backward');
    const inPlace = Float32Array.from(x);
    k.softcap(inPlace, inPlace, n, cap);
    close(inPlace, Array.from(out), 0, 'softcap in place');
  });

  it('softmax, also with large logits', () => {
    const rng = new Rng(14);
    const [N, C] = [6, 19];
    for (const s of [1, 60]) {
      const x = randn(rng, N * C, s);
      const out = new Float32Array(N * C);
      k.softmax(out, x, N, C);
      const want: number[] = [];
      for (let n = 0; n < N; n++) {
        const rowv = Array.from(x.subarray(n * C, (n + 1) * C));
        const m = Math.max(...rowv);
        const z = rowv.reduce((acc, v) => acc + Math.exp(v - m), 0);
        rowv.forEach((v) => want.push(Math.exp(v - m) / z));
      }
      close(out, want, 1e-6, `softmax scale ${s}`);
    }
  });

  it('rmsnorm and layernorm with saved statistics', () => {
    const rng = new Rng(15);
    const [N, C, eps] = [5, 11, 1e-5];
    const x = randn(rng, N * C, 2);
    const w = randn(rng, C);
    const b = randn(rng, C);
    const out = new Float32Array(N * C);
    const mean = new Float32Array(N);
    const rstd = new Float32Array(N);
    const rowOf = (n: number): number[] => Array.from(x.subarray(n * C, (n + 1) * C));
    k.rmsnorm(out, rstd, x, w, N, C, eps);
    const rms = Array.from({ length: N }, (_, n) => 1 / Math.sqrt(rowOf(n).reduce((s, v) => s + v * v, 0) / C + eps));
    close(rstd, rms, 1e-6, 'rmsnorm rstd');
    close(out, Array.from(x, (v, i) => v * rms[Math.floor(i / C)] * w[i % C]), 1e-5, 'rmsnorm');
    for (const bias of [b, null]) {
      k.layernorm(out, mean, rstd, x, w, bias, N, C, eps);
      const mu = Array.from({ length: N }, (_, n) => rowOf(n).reduce((s, v) => s + v, 0) / C);
      const rs = mu.map((m, n) => 1 / Math.sqrt(rowOf(n).reduce((s, v) => s + (v - m) ** 2, 0) / C + eps));
      close(mean, mu, 1e-6, 'layernorm mean');
      close(rstd, rs, 1e-6, 'layernorm rstd');
      const want = Array.from(x, (v, i) => {
        const n = Math.floor(i / C);
        return (v - mu[n]) * rs[n] * w[i % C] + (bias ? bias[i % C] : 0);
      });
      close(out, want, 1e-5, 'layernorm');
    }
  });

  it('embedding gathers rows; rope rotates pairs as complex numbers (also in place)', () => {
    const rng = new Rng(16);
    const [V, C] = [9, 6];
    const table = randn(rng, V * C);
    const ids = Int32Array.from([4, 0, 8, 4]);
    const out = new Float32Array(ids.length * C);
    k.embedding(out, table, ids, ids.length, C);
    close(out, Array.from(ids).flatMap((id) => Array.from(table.subarray(id * C, (id + 1) * C))), 0, 'embedding');
    const [N, H, D, P] = [3, 2, 10, 40];
    const { cos, sin } = ropeTables(P, D);
    const pos = Int32Array.from([17, 3, 39]);
    const x = randn(rng, N * H * D);
    const want: number[] = [];
    for (let n = 0; n < N; n++) {
      for (let h = 0; h < H; h++) {
        const o = (n * H + h) * D;
        const half = D / 2;
        const re: number[] = [];
        const im: number[] = [];
        for (let i = 0; i < half; i++) {
          // (x_i + i x_{i+D/2}) * e^{i theta}
          const [c, s] = [cos[pos[n] * half + i], sin[pos[n] * half + i]];
          re.push(x[o + i] * c - x[o + i + half] * s);
          im.push(x[o + i] * s + x[o + i + half] * c);
        }
        want.push(...re, ...im);
      }
    }
    const y = new Float32Array(N * H * D);
    k.rope(y, x, cos, sin, pos, N, H, D);
    close(y, want, 1e-6, 'rope');
    k.rope(x, x, cos, sin, pos, N, H, D);
    close(x, want, 1e-6, 'rope in place');
  });

  it('ropePartial rotates the first R dims of each head as rope does over R, copies the rest (also in place)', () => {
    const rng = new Rng(19);
    const [N, H, D, R, P] = [3, 2, 10, 6, 40];
    const { cos, sin } = ropeTables(P, R);
    const pos = Int32Array.from([17, 3, 39]);
    const x = randn(rng, N * H * D);
    // the same rotation from the full-width rope kernel on the rotary part alone
    const head = new Float32Array(N * H * R);
    for (let r = 0; r < N * H; r++) head.set(x.subarray(r * D, r * D + R), r * R);
    k.rope(head, head, cos, sin, pos, N, H, R);
    const want = Float32Array.from(x);
    for (let r = 0; r < N * H; r++) want.set(head.subarray(r * R, (r + 1) * R), r * D);
    const y = new Float32Array(N * H * D);
    k.ropePartial(y, x, cos, sin, pos, N, H, D, R);
    close(y, want, 0, 'ropePartial');
    k.ropePartial(x, x, cos, sin, pos, N, H, D, R);
    close(x, want, 0, 'ropePartial in place');
  });

  it.each(NAIVE_ATTN_SPECS.map((s) => ({ label: attnLabel(s), s })))('attention $label', ({ s }) => {
    const rng = new Rng(17);
    const spec: AttnSpec = { ...s, scale: 1 / Math.sqrt(s.D) };
    const { B, Tq, Tk, H, Hkv, D } = spec;
    const q = randn(rng, B * Tq * H * D);
    const kk = randn(rng, B * Tk * Hkv * D);
    const v = randn(rng, B * Tk * Hkv * D);
    const out = new Float32Array(B * Tq * H * D).fill(NaN);
    const lse = new Float32Array(B * H * Tq);
    k.attention(out, lse, q, kk, v, spec.alibi, spec.seg, B, Tq, Tk, H, Hkv, D, spec.scale, spec.causal, spec.window,
      spec.softcap ?? 0);
    const want = naiveAttention(q, kk, v, spec);
    close(out, want.out, 1e-5, 'attention out');
    close(lse, want.lse, 1e-5, 'attention lse');
  });

  it('crossEntropy: loss, ignored rows, gradient, in-place gradient', () => {
    const rng = new Rng(18);
    const [N, V, gs] = [7, 13, 0.25];
    const logits = randn(rng, N * V, 3);
    const targets = Int32Array.from([0, 12, -100, 5, 5, -100, 7]);
    const losses = new Float32Array(N).fill(NaN);
    const dlogits = new Float32Array(N * V).fill(NaN);
    k.crossEntropy(losses, dlogits, logits, targets, N, V, gs);
    const wantLoss: number[] = [];
    const wantGrad: number[] = [];
    for (let n = 0; n < N; n++) {
      const rowv = Array.from(logits.subarray(n * V, (n + 1) * V));
      const z = rowv.reduce((s, x) => s + Math.exp(x), 0);
      const ignored = targets[n] === -100;
      wantLoss.push(ignored ? 0 : -Math.log(Math.exp(rowv[targets[n]]) / z));
      rowv.forEach((x, i) => wantGrad.push(ignored ? 0 : (Math.exp(x) / z - (i === targets[n] ? 1 : 0)) * gs));
    }
    close(losses, wantLoss, 1e-6, 'losses');
    close(dlogits, wantGrad, 1e-7, 'dlogits');
    const inPlace = Float32Array.from(logits);
    k.crossEntropy(losses, inPlace, inPlace, targets, N, V, gs);
    close(losses, wantLoss, 1e-6, 'losses (in place)');
    close(inPlace, wantGrad, 1e-7, 'dlogits (in place)');
    k.crossEntropy(losses, null, logits, targets, N, V, gs);
    close(losses, wantLoss, 1e-6, 'losses (no gradient)');
  });

  it('softcapCrossEntropy: loss of the capped logits, gradient through the cap, in place, ignored rows', () => {
    const rng = new Rng(24);
    const [N, V, gs, cap] = [6, 17, 0.5, 2.5];
    const logits = randn(rng, N * V, 4);
    const targets = Int32Array.from([3, -100, 16, 0, 9, 9]);
    const wantLoss: number[] = [];
    const wantGrad: number[] = [];
    for (let n = 0; n < N; n++) {
      const cv = Array.from(logits.subarray(n * V, (n + 1) * V), (x) => cap * Math.tanh(x / cap));
      const z = cv.reduce((s, x) => s + Math.exp(x), 0);
      const ignored = targets[n] === -100;
      wantLoss.push(ignored ? 0 : Math.log(z) - cv[targets[n]]);
      cv.forEach((x, i) => wantGrad.push(ignored ? 0 : (Math.exp(x) / z - (i === targets[n] ? 1 : 0)) * gs * (1 - (x / cap) ** 2)));
    }
    const losses = new Float32Array(N).fill(NaN);
    const dlogits = new Float32Array(N * V).fill(NaN);
    k.softcapCrossEntropy(losses, dlogits, logits, targets, N, V, gs, cap);
    close(losses, wantLoss, 1e-6, 'losses');
    close(dlogits, wantGrad, 1e-7, 'dlogits');
    const inPlace = Float32Array.from(logits);
    k.softcapCrossEntropy(losses, inPlace, inPlace, targets, N, V, gs, cap);
    close(inPlace, wantGrad, 1e-7, 'dlogits (in place)');
    losses.fill(NaN);
    k.softcapCrossEntropy(losses, null, logits, targets, N, V, gs, cap);
    close(losses, wantLoss, 1e-6, 'losses (no gradient)');
  });

  it('dropout keeps exactly where uniform(seed, i) >= p, scaled by 1 / (1 - p)', () => {
    const rng = new Rng(19);
    const n = 2000;
    const x = randn(rng, n);
    const out = new Float32Array(n);
    for (const [p, seed] of [[0.1, 1], [0.5, 0xfffffff0], [0, 42]]) {
      k.dropout(out, x, n, p, seed);
      let kept = 0;
      for (let i = 0; i < n; i++) {
        const keep = uniform(seed, i) >= p;
        kept += keep ? 1 : 0;
        expect(out[i]).toBeCloseTo(keep ? x[i] / (1 - p) : 0, 5);
      }
      expect(Math.abs(kept / n - (1 - p))).toBeLessThan(0.05);
      const dx = Float32Array.from(x); // accumulates
      k.dropoutBackward(dx, x, n, p, seed);
      close(dx, Array.from(x, (v, i) => v + out[i]), 1e-6, 'dropout backward');
    }
  });

  it('adamw follows the bias-corrected textbook form over several steps', () => {
    const rng = new Rng(20);
    const n = 33;
    const [lr, b1, b2, eps, wd] = [1e-2, 0.9, 0.999, 1e-8, 0.1];
    const param = randn(rng, n);
    const m = new Float32Array(n);
    const v = new Float32Array(n);
    const want = Array.from(param);
    const wm = new Array<number>(n).fill(0);
    const wv = new Array<number>(n).fill(0);
    for (let step = 1; step <= 5; step++) {
      const grad = randn(rng, n);
      k.adamw(param, grad, m, v, n, lr, b1, b2, eps, wd, step);
      for (let i = 0; i < n; i++) {
        wm[i] = b1 * wm[i] + (1 - b1) * grad[i];
        wv[i] = b2 * wv[i] + (1 - b2) * grad[i] ** 2;
        const mHat = wm[i] / (1 - b1 ** step);
        const vHat = wv[i] / (1 - b2 ** step);
        want[i] = want[i] * (1 - lr * wd) - (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
    }
    close(param, want, 1e-5, 'adamw param');
    close(m, wm, 1e-6, 'adamw m');
    close(v, wv, 1e-6, 'adamw v');
  });

  it('dtype conversions: every bf16/f16 code decodes exactly; f32 rounds to the nearest code', () => {
    const codes = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const f = new Float32Array(65536);
    for (const [decode, fn] of [[decodeBf16, k.bf16ToF32], [decodeF16, k.f16ToF32]] as const) {
      fn.call(k, f, codes, 65536);
      for (let h = 0; h < 65536; h++) {
        const want = decode(h);
        if (Number.isNaN(want)) expect(f[h]).toBeNaN();
        else if (!Object.is(f[h], want)) expect(f[h], `code ${h}`).toBe(want);
      }
    }
    const rng = new Rng(21);
    const specials = [0, -0, 1, -1, Infinity, -Infinity, 65504, 65519.99, 65520, 1e-8, -3e-8, 2 ** -24, 2 ** -25,
      3 * 2 ** -26, 1.401298464324817e-45, 3.4028234663852886e38, 1 + 2 ** -8, 1 + 3 * 2 ** -8];
    const spread = Array.from({ length: 4000 }, (_, i) => rng.normal() * 10 ** ((i % 20) - 10));
    const src = Float32Array.from([...specials, ...spread]);
    const bits = new Uint16Array(src.length);
    for (const [nearestFn, fn] of [[nearestBf16, k.f32ToBf16], [nearestF16, k.f32ToF16]] as const) {
      fn.call(k, bits, src, src.length);
      for (let i = 0; i < src.length; i++) {
        if (bits[i] !== nearestFn(src[i])) expect(bits[i], `value ${src[i]}`).toBe(nearestFn(src[i]));
      }
    }
    const nan = new Uint16Array(2);
    k.f32ToBf16(nan, Float32Array.from([NaN, -NaN]), 2);
    expect(decodeBf16(nan[0])).toBeNaN();
    k.f32ToF16(nan, Float32Array.from([NaN, -NaN]), 2);
    expect(decodeF16(nan[0])).toBeNaN();
  });
});

describe.skipIf(!native)('native matches reference on identical random inputs', () => {
  it.each(Object.keys(CROSS_CASES))('%s', (kernel) => {
    const { tol, configs } = CROSS_CASES[kernel];
    let worst = 0;
    let worstLabel = '';
    for (const cfg of configs) {
      const got = cfg.run(native as Kernels, new Rng(cfg.seed));
      const want = cfg.run(referenceKernels, new Rng(cfg.seed));
      const { maxAbsDiff, scaledErr } = compareOutputs(got, want);
      if (maxAbsDiff > worst || worstLabel === '') [worst, worstLabel] = [maxAbsDiff, cfg.label];
      expect(scaledErr, `${kernel} ${cfg.label}: max abs diff ${maxAbsDiff}`).toBeLessThanOrEqual(tol);
    }
    console.log(`${kernel.padEnd(18)} max abs diff ${worst.toExponential(2)} over ${configs.length} shapes ` +
      `(worst: ${worstLabel})`);
  });
});

describe('cross-implementation cases on the reference kernels', () => {
  it('every case runs (zero sizes included) and is deterministic', () => {
    for (const { configs } of Object.values(CROSS_CASES)) {
      for (const cfg of configs) {
        const a = cfg.run(referenceKernels, new Rng(cfg.seed));
        const b = cfg.run(referenceKernels, new Rng(cfg.seed));
        expect(compareOutputs(a, b).maxAbsDiff, cfg.label).toBe(0);
      }
    }
  });
});
