// The encoder attention kernel: reference and native against a naive masked softmax (padding keys, a symmetric
// local window, queries that see no key), native against reference on odd shapes, float64 finite differences of
// the reference backward, and the ops built on it (encoderAttention, tokenPool, classCrossEntropy) through the tape.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeStatus, referenceKernels } from '../../src/kernels/index.js';
import { referenceKernelsFA as R } from '../../src/kernels/ref/index.js';
import type { Kernels } from '../../src/kernels/types.js';
import { Tensor, backward, classCrossEntropy, encoderAttention, mul, noGrad, sum, tokenPool } from '../../src/tensor/index.js';
import { maxRelErr, randn, randn64, Rng } from './helpers.js';
import { numGrad, randT, relErr } from '../tensor/helpers.js';

type AttnKernels = Pick<Kernels, 'name' | 'encoderAttention' | 'encoderAttentionBackward'>;

/** The native twin: from the loaded kernels, or straight from the built addon when another kernel it lacks keeps
 *  the kernel set from loading (the encoder kernels are still compared). */
function nativeAttention(): AttnKernels | null {
  const k = nativeStatus().kernels;
  if (k) return k;
  const file = join(import.meta.dirname, '..', '..', 'build', 'Release', 'shitate_native.node');
  if (!existsSync(file)) return null;
  const addon = createRequire(import.meta.url)(file) as Partial<AttnKernels>;
  return addon.encoderAttention && addon.encoderAttentionBackward
    ? { name: 'native', encoderAttention: addon.encoderAttention, encoderAttentionBackward: addon.encoderAttentionBackward } : null;
}

const native = nativeAttention();
const impls: AttnKernels[] = native ? [referenceKernels, native] : [referenceKernels];

interface Case { label: string; B: number; T: number; H: number; D: number; window: number; lengths: number[] | null }

const CASES: Case[] = [
  { label: 'no mask', B: 1, T: 5, H: 2, D: 3, window: -1, lengths: null },
  { label: 'padding', B: 3, T: 7, H: 2, D: 4, window: -1, lengths: [7, 4, 1] },
  { label: 'local window', B: 2, T: 9, H: 3, D: 2, window: 2, lengths: [9, 6] },
  { label: 'window past the padding (queries that see no key)', B: 2, T: 12, H: 1, D: 3, window: 1, lengths: [12, 3] },
  { label: 'long rows over several query blocks', B: 2, T: 150, H: 2, D: 8, window: 20, lengths: [150, 70] },
];

function maskOf(c: Case): Int32Array | null {
  if (!c.lengths) return null;
  const m = new Int32Array(c.B * c.T);
  c.lengths.forEach((n, b) => m.fill(1, b * c.T, b * c.T + n));
  return m;
}

/** out[b,i,h] = sum_j p_j v_j with p = softmax over visible keys, or the mean of v when none is visible. */
function naive(q: Float32Array, k: Float32Array, v: Float32Array, mask: Int32Array | null, c: Case, scale: number): number[] {
  const { B, T, H, D } = c;
  const out: number[] = [];
  const at = (x: Float32Array, b: number, t: number, h: number, d: number) => x[((b * T + t) * H + h) * D + d];
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      for (let h = 0; h < H; h++) {
        const vis = Array.from({ length: T }, (_, j) => (!mask || mask[b * T + j] === 1) && (c.window < 0 || Math.abs(i - j) <= c.window));
        const s = vis.map((ok, j) => (ok ? scale * Array.from({ length: D }, (_, d) => at(q, b, i, h, d) * at(k, b, j, h, d)).reduce((x, y) => x + y, 0) : -Infinity));
        const any = vis.some(Boolean);
        const mx = Math.max(...s);
        const e = s.map((x) => (any ? Math.exp(x - mx) : 1));
        const z = e.reduce((x, y) => x + y, 0);
        for (let d = 0; d < D; d++) out.push(e.reduce((acc, p, j) => acc + (p / z) * at(v, b, j, h, d), 0));
      }
    }
  }
  return out;
}

describe.each(impls.map((k) => ({ name: k.name, k })))('$name encoderAttention', ({ k }) => {
  it.each(CASES)('matches the naive formula: $label', (c) => {
    const rng = new Rng(3);
    const n = c.B * c.T * c.H * c.D;
    const [q, kk, v] = [randn(rng, n), randn(rng, n), randn(rng, n)];
    const mask = maskOf(c);
    const out = new Float32Array(n);
    const lse = new Float32Array(c.B * c.H * c.T);
    k.encoderAttention(out, lse, q, kk, v, mask, c.B, c.T, c.H, c.D, 0.7, c.window);
    expect(maxRelErr(out, naive(q, kk, v, mask, c, 0.7), 1)).toBeLessThan(1e-5);
  });
});

describe.runIf(native !== null)('native encoderAttention against the reference', () => {
  it.each(CASES)('forward and backward agree: $label', (c) => {
    const rng = new Rng(5);
    const n = c.B * c.T * c.H * c.D;
    const [q, kk, v, dout] = [randn(rng, n), randn(rng, n), randn(rng, n), randn(rng, n)];
    const mask = maskOf(c);
    const run = (K: AttnKernels) => {
      const out = new Float32Array(n);
      const lse = new Float32Array(c.B * c.H * c.T);
      K.encoderAttention(out, lse, q, kk, v, mask, c.B, c.T, c.H, c.D, 0.5, c.window);
      const g = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
      K.encoderAttentionBackward(g[0], g[1], g[2], dout, q, kk, v, out, lse, mask, c.B, c.T, c.H, c.D, 0.5, c.window);
      return [out, ...g];
    };
    const [a, b] = [run(referenceKernels), run(native!)];
    const diffs = a.map((x, i) => maxRelErr(b[i], x, 1));
    console.log(`encoderAttention ${c.label}: native vs reference ${diffs.map((d) => d.toExponential(1)).join(' ')}`);
    for (const d of diffs) expect(d).toBeLessThan(1e-5);
  });
});

describe('encoderAttention backward (float64 finite differences)', () => {
  it.each(CASES.slice(0, 4))('$label', (c) => {
    const rng = new Rng(9);
    const n = c.B * c.T * c.H * c.D;
    const xs = [randn64(rng, n), randn64(rng, n), randn64(rng, n)];
    const r = randn64(rng, n);
    const mask = maskOf(c);
    const out = new Float64Array(n);
    const lse = new Float64Array(c.B * c.H * c.T);
    const f = () => {
      R.encoderAttention(out, lse, xs[0], xs[1], xs[2], mask, c.B, c.T, c.H, c.D, 0.6, c.window);
      return out.reduce((s, o, i) => s + o * r[i], 0);
    };
    f();
    const grads = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
    R.encoderAttentionBackward(grads[0], grads[1], grads[2], r, xs[0], xs[1], xs[2], out, lse, mask, c.B, c.T, c.H, c.D, 0.6, c.window);
    xs.forEach((x, p) => {
      const numeric = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const x0 = x[i];
        x[i] = x0 + 1e-6;
        const fp = f();
        x[i] = x0 - 1e-6;
        const fm = f();
        x[i] = x0;
        numeric[i] = (fp - fm) / 2e-6;
      }
      expect(maxRelErr(grads[p], numeric, 1e-2), `input ${p}`).toBeLessThan(1e-6);
    });
  });
});

describe('encoder ops through the tape (float32 finite differences)', () => {
  const proj = (y: Tensor, seed = 99): Tensor => sum(mul(y, randT([...y.shape], seed)));
  const check = (xs: Tensor[], loss: () => Tensor) => {
    for (const x of xs) x.grad = null;
    backward(loss());
    for (const x of xs) expect(relErr(x.grad!.data.slice(), noGrad(() => numGrad(() => loss().item(), x)))).toBeLessThan(2e-2);
  };

  it('encoderAttention with padding and a window', () => {
    const [q, k, v] = [randT([2, 5, 2, 3], 1, true), randT([2, 5, 2, 3], 2, true), randT([2, 5, 2, 3], 3, true)];
    const keyMask = Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    check([q, k, v], () => proj(encoderAttention(q, k, v, { keyMask, window: 2 })));
  });

  it('tokenPool (mean weights) and classCrossEntropy with class weights', () => {
    const h = randT([2, 4, 3], 4, true);
    const w = Float32Array.from([0.5, 0.5, 0, 0, 0.25, 0.25, 0.25, 0.25]);
    check([h], () => proj(tokenPool(h, w)));
    const logits = randT([4, 3], 5, true, 2);
    const targets = Int32Array.from([2, 0, 1, 2]);
    check([logits], () => classCrossEntropy(logits, targets, Float32Array.from([1, 2, 0.5])));
  });

  it('classCrossEntropy is the weighted mean torch computes', () => {
    const logits = Tensor.from([1, 2, 3, 0, 0, 1], [2, 3]);
    const ce = (row: number[], t: number) => Math.log(row.reduce((s, x) => s + Math.exp(x), 0)) - row[t];
    const want = (1 * ce([1, 2, 3], 0) + 3 * ce([0, 0, 1], 1)) / 4;
    expect(classCrossEntropy(logits, Int32Array.from([0, 1]), Float32Array.from([1, 3, 7])).item()).toBeCloseTo(want, 6);
  });
});
