// Finite-difference gradient checks (float64) for every reference kernel with a backward pass:
// f(x) = <r, forward(x)> for a random r; the analytic gradient is backward(dout = r), compared against
// central differences. Each check also verifies that backward accumulates (twice = double).
import { describe, expect, it } from 'vitest';
import { referenceKernelsFA as R } from '../../src/kernels/ref/index.js';
import { maxRelErr, randn64, Rng } from './helpers.js';

interface Param {
  name: string;
  x: Float64Array; // the input being differentiated (perturbed in place, then restored)
  grad: Float64Array; // where backward accumulates d f / d x
}

const H_STEP = 1e-6;
const TOL = 1e-6; // relative, with an absolute floor of 1e-8 (TOL * FLOOR) where the gradient is ~0
const FLOOR = 1e-2;

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function numericGrad(f: () => number, x: Float64Array): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    x[i] = x0 + H_STEP;
    const fp = f();
    x[i] = x0 - H_STEP;
    const fm = f();
    x[i] = x0;
    g[i] = (fp - fm) / (2 * H_STEP);
  }
  return g;
}

/** forward() returns the output to project (and refreshes whatever backward needs: rstd, lse, ...);
 *  backward(dout) accumulates into every param's grad. */
function gradcheck(rng: Rng, params: Param[], forward: () => Float64Array, backward: (dout: Float64Array) => void): void {
  const r = randn64(rng, forward().length);
  for (const p of params) p.grad.fill(0);
  backward(r);
  const analytic = params.map((p) => Float64Array.from(p.grad));
  backward(r); // accumulate semantics: a second call adds the same gradient again
  params.forEach((p, i) => {
    const doubled = analytic[i].map((g) => 2 * g);
    expect(maxRelErr(p.grad, doubled, 1e-12), `${p.name}: backward must accumulate`).toBeLessThan(1e-12);
  });
  for (const [i, p] of params.entries()) {
    const numeric = numericGrad(() => dot(r, forward()), p.x);
    const err = maxRelErr(analytic[i], numeric, FLOOR);
    expect(err, `${p.name}: max relative error ${err.toExponential(2)}`).toBeLessThan(TOL);
    expect(numeric.some((g) => g !== 0), `${p.name}: gradient should not be identically zero`).toBe(true);
  }
  forward(); // leave saved buffers consistent with the unperturbed inputs
}

function param(name: string, x: Float64Array): Param {
  return { name, x, grad: new Float64Array(x.length) };
}

describe('gradient checks (float64, reference kernels)', () => {
  it('silu, swiglu, gelu (exact and tanh)', () => {
    const rng = new Rng(1);
    const n = 41;
    const x = param('x', randn64(rng, n, 2.5));
    const out = new Float64Array(n);
    gradcheck(rng, [x], () => (R.silu(out, x.x, n), out), (d) => R.siluBackward(x.grad, d, x.x, n));
    const gate = param('gate', randn64(rng, n, 2));
    const up = param('up', randn64(rng, n, 2));
    gradcheck(rng, [gate, up], () => (R.swiglu(out, gate.x, up.x, n), out),
      (d) => R.swigluBackward(gate.grad, up.grad, d, gate.x, up.x, n));
    for (const approximate of [0, 1]) {
      gradcheck(rng, [x], () => (R.gelu(out, x.x, n, approximate), out),
        (d) => R.geluBackward(x.grad, d, x.x, n, approximate));
    }
  });

  it('geglu (exact and tanh), softcap', () => {
    const rng = new Rng(11);
    const n = 41;
    const out = new Float64Array(n);
    const gate = param('gate', randn64(rng, n, 2));
    const up = param('up', randn64(rng, n, 2));
    for (const approximate of [0, 1]) {
      gradcheck(rng, [gate, up], () => (R.geglu(out, gate.x, up.x, n, approximate), out),
        (d) => R.gegluBackward(gate.grad, up.grad, d, gate.x, up.x, n, approximate));
    }
    const x = param('x', randn64(rng, n, 3));
    gradcheck(rng, [x], () => (R.softcap(out, x.x, n, 2.5), out), (d) => R.softcapBackward(x.grad, d, out, n, 2.5));
  });

  it('softmax', () => {
    const rng = new Rng(2);
    const [N, C] = [5, 7];
    const x = param('x', randn64(rng, N * C, 3));
    const y = new Float64Array(N * C);
    gradcheck(rng, [x], () => (R.softmax(y, x.x, N, C), y), (d) => R.softmaxBackward(x.grad, d, y, N, C));
  });

  it('rmsnorm (dx, dw; frozen weight)', () => {
    const rng = new Rng(3);
    const [N, C] = [4, 9];
    const x = param('x', randn64(rng, N * C, 1.5));
    const w = param('w', randn64(rng, C, 0.5).map((v) => 1 + v));
    const out = new Float64Array(N * C);
    const rstd = new Float64Array(N);
    const fwd = (): Float64Array => (R.rmsnorm(out, rstd, x.x, w.x, N, C, 1e-5), out);
    gradcheck(rng, [x, w], fwd, (d) => R.rmsnormBackward(x.grad, w.grad, d, x.x, w.x, rstd, N, C));
    gradcheck(rng, [x], fwd, (d) => R.rmsnormBackward(x.grad, null, d, x.x, w.x, rstd, N, C));
  });

  it('layernorm (dx, dw, db; without bias)', () => {
    const rng = new Rng(4);
    const [N, C] = [3, 10];
    const x = param('x', randn64(rng, N * C, 2).map((v, i) => v + (i % 3)));
    const w = param('w', randn64(rng, C, 0.5).map((v) => 1 + v));
    const b = param('b', randn64(rng, C, 0.5));
    const out = new Float64Array(N * C);
    const mean = new Float64Array(N);
    const rstd = new Float64Array(N);
    gradcheck(rng, [x, w, b], () => (R.layernorm(out, mean, rstd, x.x, w.x, b.x, N, C, 1e-5), out),
      (d) => R.layernormBackward(x.grad, w.grad, b.grad, d, x.x, w.x, mean, rstd, N, C));
    gradcheck(rng, [x, w], () => (R.layernorm(out, mean, rstd, x.x, w.x, null, N, C, 1e-5), out),
      (d) => R.layernormBackward(x.grad, w.grad, null, d, x.x, w.x, mean, rstd, N, C));
  });

  it('embedding scatter-add with repeated ids', () => {
    const rng = new Rng(5);
    const [V, C] = [6, 5];
    const ids = Int32Array.from([3, 1, 3, 0, 5, 3, 1, 2, 1]);
    const N = ids.length;
    const table = param('table', randn64(rng, V * C));
    const out = new Float64Array(N * C);
    gradcheck(rng, [table], () => (R.embedding(out, table.x, ids, N, C), out),
      (d) => R.embeddingBackward(table.grad, d, ids, N, C));
    // row 4 is never looked up: no gradient reaches it
    expect(table.grad.subarray(4 * C, 5 * C).every((g) => g === 0)).toBe(true);
  });

  it('rope with positions not starting at 0', () => {
    const rng = new Rng(6);
    const [N, H, D, P] = [4, 3, 8, 20];
    const half = D / 2;
    const cos = new Float64Array(P * half);
    const sin = new Float64Array(P * half);
    for (let p = 0; p < P; p++) {
      for (let i = 0; i < half; i++) {
        cos[p * half + i] = Math.cos(p / 10000 ** ((2 * i) / D));
        sin[p * half + i] = Math.sin(p / 10000 ** ((2 * i) / D));
      }
    }
    const pos = Int32Array.from([7, 3, 12, 7]);
    const x = param('x', randn64(rng, N * H * D));
    const out = new Float64Array(N * H * D);
    gradcheck(rng, [x], () => (R.rope(out, x.x, cos, sin, pos, N, H, D), out),
      (d) => R.ropeBackward(x.grad, d, cos, sin, pos, N, H, D, true));
  });

  it('ropePartial: 6 of 10 dims rotate, the rest pass the gradient through', () => {
    const rng = new Rng(11);
    const [N, H, D, Rd, P] = [4, 3, 10, 6, 20];
    const half = Rd / 2;
    const cos = Float64Array.from({ length: P * half }, (_, j) => Math.cos(Math.floor(j / half) / 100 ** ((2 * (j % half)) / Rd)));
    const sin = Float64Array.from({ length: P * half }, (_, j) => Math.sin(Math.floor(j / half) / 100 ** ((2 * (j % half)) / Rd)));
    const pos = Int32Array.from([7, 3, 12, 19]);
    const x = param('x', randn64(rng, N * H * D));
    const out = new Float64Array(N * H * D);
    gradcheck(rng, [x], () => (R.ropePartial(out, x.x, cos, sin, pos, N, H, D, Rd), out),
      (d) => R.ropePartialBackward(x.grad, d, cos, sin, pos, N, H, D, Rd));
  });
});

interface AttnCase {
  label: string;
  B: number; Tq: number; Tk: number; H: number; Hkv: number; D: number;
  causal: number; window: number; seg?: number[]; alibi?: number[]; softcap?: number;
}

const ATTN_CASES: AttnCase[] = [
  { label: 'full, no mask', B: 1, Tq: 4, Tk: 4, H: 2, Hkv: 2, D: 3, causal: 0, window: 0 },
  { label: 'GQA causal, Tq < Tk offset', B: 2, Tq: 3, Tk: 5, H: 4, Hkv: 2, D: 4, causal: 1, window: 0 },
  { label: 'sliding window', B: 1, Tq: 6, Tk: 6, H: 2, Hkv: 1, D: 4, causal: 1, window: 2 },
  { label: 'packed segments', B: 2, Tq: 6, Tk: 6, H: 2, Hkv: 2, D: 3, causal: 1, window: 0,
    seg: [0, 0, 1, 1, 1, 2, 5, 5, 5, 6, 6, 6] },
  { label: 'alibi, offset, window and segments', B: 1, Tq: 4, Tk: 7, H: 4, Hkv: 2, D: 3, causal: 1, window: 4,
    seg: [1, 1, 1, 2, 2, 2, 2], alibi: [0.5, 0.25, 0.125, 0.0625] },
  { label: 'non-causal alibi', B: 1, Tq: 3, Tk: 5, H: 2, Hkv: 1, D: 2, causal: 0, window: 0, alibi: [0.3, -0.2] },
  { label: 'queries that see no key (Tq > Tk)', B: 1, Tq: 5, Tk: 3, H: 2, Hkv: 1, D: 3, causal: 1, window: 0 },
  { label: 'soft-capped scores, GQA, window, offset', B: 2, Tq: 4, Tk: 6, H: 4, Hkv: 2, D: 3, causal: 1, window: 3,
    softcap: 0.6 },
];

describe('gradient checks: attention, loss, dropout, gemm', () => {
  it.each(ATTN_CASES)('attention: $label', (c) => {
    const rng = new Rng(7);
    const { B, Tq, Tk, H, Hkv, D, causal, window } = c;
    const softcap = c.softcap ?? 0;
    const q = param('dq', randn64(rng, B * Tq * H * D));
    const k = param('dk', randn64(rng, B * Tk * Hkv * D));
    const v = param('dv', randn64(rng, B * Tk * Hkv * D));
    const out = new Float64Array(B * Tq * H * D);
    const lse = new Float64Array(B * H * Tq);
    const seg = c.seg ? Int32Array.from(c.seg) : null;
    const alibi = c.alibi ? Float64Array.from(c.alibi) : null;
    const scale = 0.9 / Math.sqrt(D);
    gradcheck(rng, [q, k, v],
      () => (R.attention(out, lse, q.x, k.x, v.x, alibi, seg, B, Tq, Tk, H, Hkv, D, scale, causal, window, softcap), out),
      (d) => R.attentionBackward(q.grad, k.grad, v.grad, d, q.x, k.x, v.x, out, lse, alibi, seg,
        B, Tq, Tk, H, Hkv, D, scale, causal, window, softcap));
    if (Tq > Tk) {
      // queries at negative positions: output 0, lse -Infinity, no gradient
      for (let t = 0; t < Tq - Tk; t++) {
        for (let h = 0; h < H; h++) {
          const o = (t * H + h) * D;
          expect(Array.from(out.subarray(o, o + D))).toEqual(new Array(D).fill(0));
          expect(Array.from(q.grad.subarray(o, o + D))).toEqual(new Array(D).fill(0));
          expect(lse[h * Tq + t]).toBe(-Infinity);
        }
      }
    }
  });

  it('crossEntropy: gradient of the (scaled) summed loss, ignored rows, aliasing', () => {
    const rng = new Rng(8);
    const [N, V] = [6, 7];
    const gradScale = 0.37;
    const targets = Int32Array.from([2, -100, 6, 0, -100, 2]);
    const logits = randn64(rng, N * V, 2);
    const losses = new Float64Array(N);
    const dlogits = new Float64Array(N * V);
    R.crossEntropy(losses, dlogits, logits, targets, N, V, gradScale);
    const f = (): number => {
      R.crossEntropy(losses, null, logits, targets, N, V, gradScale);
      return gradScale * losses.reduce((s, l) => s + l, 0);
    };
    const numeric = numericGrad(f, logits);
    expect(maxRelErr(dlogits, numeric, FLOOR)).toBeLessThan(TOL);
    for (const n of [1, 4]) expect(dlogits.subarray(n * V, (n + 1) * V).every((g) => g === 0)).toBe(true);
    // in place: dlogits === logits gives the same gradient and the same losses
    const inPlace = Float64Array.from(logits);
    const losses2 = new Float64Array(N);
    R.crossEntropy(losses2, inPlace, inPlace, targets, N, V, gradScale);
    expect(Array.from(inPlace)).toEqual(Array.from(dlogits));
    f();
    expect(Array.from(losses2)).toEqual(Array.from(losses));
  });

  it('softcapCrossEntropy: gradient with respect to the raw logits, ignored rows, aliasing', () => {
    const rng = new Rng(12);
    const [N, V, gradScale, cap] = [5, 6, 0.8, 1.7];
    const targets = Int32Array.from([1, 5, -100, 0, 3]);
    const logits = randn64(rng, N * V, 3);
    const losses = new Float64Array(N);
    const dlogits = new Float64Array(N * V);
    R.softcapCrossEntropy(losses, dlogits, logits, targets, N, V, gradScale, cap);
    const f = (): number => {
      R.softcapCrossEntropy(losses, null, logits, targets, N, V, gradScale, cap);
      return gradScale * losses.reduce((s, l) => s + l, 0);
    };
    expect(maxRelErr(dlogits, numericGrad(f, logits), FLOOR)).toBeLessThan(TOL);
    expect(dlogits.subarray(2 * V, 3 * V).every((g) => g === 0)).toBe(true);
    const inPlace = Float64Array.from(logits);
    R.softcapCrossEntropy(new Float64Array(N), inPlace, inPlace, targets, N, V, gradScale, cap);
    expect(Array.from(inPlace)).toEqual(Array.from(dlogits));
  });

  it('dropout backward recomputes the forward mask', () => {
    const rng = new Rng(9);
    const n = 300;
    const p = 0.3;
    const seed = 0xdeadbeef;
    const x = param('x', randn64(rng, n));
    const out = new Float64Array(n);
    gradcheck(rng, [x], () => (R.dropout(out, x.x, n, p, seed), out), (d) => R.dropoutBackward(x.grad, d, n, p, seed));
    // the mask seen by backward is the forward's: ones through backward reproduce forward(ones)
    const ones = new Float64Array(n).fill(1);
    const fwdMask = new Float64Array(n);
    const bwdMask = new Float64Array(n);
    R.dropout(fwdMask, ones, n, p, seed);
    R.dropoutBackward(bwdMask, ones, n, p, seed);
    expect(Array.from(bwdMask)).toEqual(Array.from(fwdMask));
    const kept = fwdMask.filter((m) => m !== 0).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(n);
  });

  it.each([
    [false, false], [true, false], [false, true], [true, true],
  ])('gemm transA=%s transB=%s (backward expressed via gemm)', (transA, transB) => {
    const rng = new Rng(10);
    const [M, N, K] = [3, 4, 5];
    const a = param('a', randn64(rng, M * K));
    const b = param('b', randn64(rng, K * N));
    const c = new Float64Array(M * N);
    const fwd = (): Float64Array => (R.gemm(c, a.x, b.x, 1, M, N, K, transA, transB, 0, 0, 0), c);
    const bwd = (dc: Float64Array): void => {
      // C = op(A) op(B): d op(A) = dC op(B)^T, d op(B) = op(A)^T dC, written into A's and B's stored layouts
      if (!transA) R.gemm(a.grad, dc, b.x, 1, M, K, N, false, !transB, 1, 0, 0); // [M,N] @ op(B)^T
      else R.gemm(a.grad, b.x, dc, 1, K, M, N, transB, true, 1, 0, 0); // op(B) @ dC^T -> [K, M]
      if (!transB) R.gemm(b.grad, a.x, dc, 1, K, N, M, !transA, false, 1, 0, 0); // op(A)^T @ dC -> [K, N]
      else R.gemm(b.grad, dc, a.x, 1, N, K, M, true, transA, 1, 0, 0); // dC^T @ op(A) -> [N, K]
    };
    gradcheck(rng, [a, b], fwd, bwd);
  });
});

describe('gradient checks: the hybrid families\' kernels', () => {
  it('causalConv1d: identity and SiLU, with bias, across packed segments', () => {
    const rng = new Rng(21);
    const [B, T, Ch, K] = [2, 7, 3, 4];
    const seg = Int32Array.from({ length: B * T }, (_, i) => Math.floor((i % T) / 3) + 10 * Math.floor(i / T));
    for (const [act, s] of [[0, null], [1, seg], [1, null]] as const) {
      const x = param('x', randn64(rng, B * T * Ch));
      const w = param('w', randn64(rng, Ch * K));
      const b = param('bias', randn64(rng, Ch));
      const out = new Float64Array(B * T * Ch);
      gradcheck(rng, [x, w, b], () => (R.causalConv1d(out, x.x, w.x, b.x, null, s, B, T, Ch, K, act), out),
        (d) => R.causalConv1dBackward(x.grad, w.grad, b.grad, d, x.x, w.x, b.x, s, B, T, Ch, K, act));
    }
  });

  it('l2norm', () => {
    const rng = new Rng(22);
    const [N, D] = [5, 6];
    const x = param('x', randn64(rng, N * D, 2));
    const out = new Float64Array(N * D);
    const rnorm = new Float64Array(N);
    gradcheck(rng, [x], () => (R.l2norm(out, rnorm, x.x, N, D, 1e-6), out), (d) => R.l2normBackward(x.grad, d, x.x, rnorm, N, D));
  });

  it('deltaRuleChunk: every input, over a full chunk, a one-token chunk and a packed segment, grouped value heads', () => {
    const rng = new Rng(23);
    const [B, T, Hk, Hv, Dk, Dv] = [1, 67, 1, 2, 3, 2];
    const seg = Int32Array.from({ length: B * T }, (_, t) => (t < 65 ? 1 : 2));
    const unit = (a: Float64Array): Float64Array => {
      for (let n = 0; n < a.length / Dk; n++) {
        const s = Math.hypot(...a.subarray(n * Dk, (n + 1) * Dk));
        for (let d = 0; d < Dk; d++) a[n * Dk + d] /= s;
      }
      return a;
    };
    const q = param('q', unit(randn64(rng, B * T * Hk * Dk)));
    const k = param('k', unit(randn64(rng, B * T * Hk * Dk)));
    const v = param('v', randn64(rng, B * T * Hv * Dv));
    const g = param('g', randn64(rng, B * T * Hv).map((a) => -Math.log1p(Math.exp(a)) * 0.5));
    const beta = param('beta', randn64(rng, B * T * Hv).map((a) => 1 / (1 + Math.exp(-a))));
    const out = new Float64Array(B * T * Hv * Dv);
    const states = new Float64Array(B * Hv * 3 * Dk * Dv); // chunks [0, 64), [64, 65), [65, 67)
    gradcheck(rng, [q, k, v, g, beta],
      () => (R.deltaRuleChunk(out, states, null, q.x, k.x, v.x, g.x, beta.x, seg, B, T, Hk, Hv, Dk, Dv, 0.5), out),
      (d) => R.deltaRuleChunkBackward(q.grad, k.grad, v.grad, g.grad, beta.grad, d, states, q.x, k.x, v.x, g.x, beta.x, seg,
        B, T, Hk, Hv, Dk, Dv, 0.5));
  });
});
