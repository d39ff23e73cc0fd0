// Inference weight formats (src/tensor/weights.ts): with 'bf16', linear layers multiply r(x) by the rounded weights
// with float32 sums (checked against a double-precision product of the rounded values), LoRA's branch stays
// float32, gradients never take the path, and a model held in bf16 generates close to its float32 self. With
// 'int8', each weight row is quantized symmetrically with one scale, and linear layers multiply by scale * q.
import { afterEach, describe, expect, it } from 'vitest';
import {
  Bf16Storage, Int8Storage, Tensor, holdWeightsBf16, holdWeightsInt8, linear, lowRankLinear, noGrad, quantizeRowsInt8, setWeightFormat, weightFormat,
} from '../../src/tensor/index.js';
import { weightChanged } from '../../src/tensor/lowp.js';
import { loadModel } from '../../src/models/index.js';
import { openModel } from '../../src/generate/index.js';
import { tinyModelDir } from '../helpers/tiny-model.js';
import { decodeBf16, nearestBf16 } from '../kernels/naive.js';
import { randn, Rng } from '../kernels/helpers.js';

const r = (x: number): number => decodeBf16(nearestBf16(x));

/** x [N, I] @ w [O, I]^T (+ bias) in double precision, both operands rounded to bf16 first */
function naiveRounded(x: Float32Array, w: Float32Array, bias: Float32Array | null, N: number, O: number, I: number): Float64Array {
  const out = new Float64Array(N * O);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < I; i++) s += r(x[n * I + i]) * r(w[o * I + i]);
      out[n * O + o] = s;
    }
  }
  return out;
}

/** out [N, O] += scale * (x A^T) B^T in double precision: the LoRA branch, always float32 */
function addLoraBranch(out: Float64Array, x: Float32Array, lr: { A: Tensor; B: Tensor; scale: number }, N: number, O: number, I: number, R: number): void {
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      let s = 0;
      for (let k = 0; k < R; k++) {
        let u = 0;
        for (let i = 0; i < I; i++) u += x[n * I + i] * lr.A.data[k * I + i];
        s += u * lr.B.data[o * R + k];
      }
      out[n * O + o] += lr.scale * s;
    }
  }
}

function maxDiff(a: Float32Array, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

afterEach(() => {
  setWeightFormat('f32');
});

describe('weight format bf16', () => {
  it.each([[1, 40, 70], [4, 33, 64], [12, 20, 50]])('linear over %i rows multiplies the rounded operands (O %i, I %i)', (N, O, I) => {
    const rng = new Rng(N * 100 + O);
    const x = Tensor.from(randn(rng, N * I), [N, I]);
    const w = Tensor.from(randn(rng, O * I), [O, I]);
    const bias = Tensor.from(randn(rng, O), [O]);
    const exact = noGrad(() => linear(x, w, bias)).data.slice();
    expect(setWeightFormat('bf16')).toBe('f32');
    const y = noGrad(() => linear(x, w, bias));
    const want = naiveRounded(x.data, w.data, bias.data, N, O, I);
    const err = maxDiff(y.data, want);
    console.log(`bf16 weights linear ${N}x${O}x${I}: max |diff| vs rounded reference ${err.toExponential(2)}, vs float32 ${maxDiff(y.data, exact).toExponential(2)}`);
    expect(err).toBeLessThan(1e-5 * Math.sqrt(I));
    expect(maxDiff(y.data, exact)).toBeGreaterThan(0); // the rounding is really there
    setWeightFormat('f32');
    expect(noGrad(() => linear(x, w, bias)).data).toEqual(exact); // and gone again
  });

  it('lowRankLinear: the base on the rounded weights, the LoRA branch in float32', () => {
    const [N, O, I, R] = [3, 24, 40, 4];
    const rng = new Rng(7);
    const x = Tensor.from(randn(rng, N * I), [N, I]);
    const w = Tensor.from(randn(rng, O * I), [O, I]);
    const lr = { A: Tensor.from(randn(rng, R * I), [R, I]), B: Tensor.from(randn(rng, O * R), [O, R]), scale: 2, dropout: 0, seed: 0 };
    setWeightFormat('bf16');
    const y = noGrad(() => lowRankLinear(x, w, null, lr));
    const base = naiveRounded(x.data, w.data, null, N, O, I);
    addLoraBranch(base, x.data, lr, N, O, I, R);
    expect(maxDiff(y.data, base)).toBeLessThan(1e-4);
  });

  it('a layer whose input needs a gradient stays float32', () => {
    const rng = new Rng(3);
    const x = Tensor.from(randn(rng, 2 * 16), [2, 16], true);
    const w = Tensor.from(randn(rng, 8 * 16), [8, 16]);
    const exact = noGrad(() => linear(x, w)).data.slice();
    setWeightFormat('bf16');
    expect(linear(x, w).data).toEqual(exact);
  });

  it('holdWeightsBf16 frees the float32 copy; reading it back gives the rounded values', () => {
    const w = Tensor.from(Float32Array.from([1 + 2 ** -9, 1 + 3 * 2 ** -9, -0.1, 3]), [2, 2]);
    const layers = [{ weight: w }];
    expect(holdWeightsBf16(layers)).toBe(16 - 8);
    expect(layers[0].weight.storage).toBeInstanceOf(Bf16Storage);
    expect(Array.from(layers[0].weight.data)).toEqual([1, 1 + 2 ** -7, r(-0.1), 3]);
    expect(holdWeightsBf16(layers)).toBe(0); // already held
  });

});

/** x [N, I] @ (scale * q)^T (+ bias) in double precision, from the int8 rows and scales */
function naiveInt8(x: Float32Array, q: Int8Array, scale: Float32Array, bias: Float32Array | null, N: number, O: number, I: number): Float64Array {
  const out = new Float64Array(N * O);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      let s = 0;
      for (let i = 0; i < I; i++) s += x[n * I + i] * q[o * I + i];
      out[n * O + o] = s * scale[o] + (bias ? bias[o] : 0);
    }
  }
  return out;
}

describe('weight format int8', () => {
  it('quantizes each row symmetrically: scale = max |w| / 127, every value within half a step, zero rows stay zero', () => {
    const rng = new Rng(11);
    const [rows, cols] = [5, 37];
    const w = Float32Array.from(randn(rng, rows * cols));
    w.fill(0, 2 * cols, 3 * cols); // a zero row
    const { q, scale } = quantizeRowsInt8(w, rows, cols);
    for (let r0 = 0; r0 < rows; r0++) {
      const row = w.subarray(r0 * cols, (r0 + 1) * cols);
      const amax = Math.max(...Array.from(row, Math.abs));
      expect(scale[r0]).toBeCloseTo(amax / 127, 6);
      for (let k = 0; k < cols; k++) {
        const v = q[r0 * cols + k];
        expect(Math.abs(v)).toBeLessThanOrEqual(127);
        expect(Math.abs(v * scale[r0] - row[k])).toBeLessThanOrEqual(scale[r0] / 2 + 1e-6);
      }
      if (amax > 0) expect(Math.max(...Array.from(q.subarray(r0 * cols, (r0 + 1) * cols), Math.abs))).toBe(127);
    }
    expect(scale[2]).toBe(0);
    expect(Array.from(q.subarray(2 * cols, 3 * cols)).every((v) => v === 0)).toBe(true);
    // half a step rounds away from zero
    expect(Array.from(quantizeRowsInt8(Float32Array.from([127, 0.5, -0.5, -1.5]), 1, 4).q)).toEqual([127, 1, -1, -2]);
  });

  it.each([[1, 40, 70], [4, 33, 64], [8, 17, 16], [12, 20, 50], [3, 5, 7]])('linear over %i rows multiplies by scale * q (O %i, I %i)', (N, O, I) => {
    const rng = new Rng(N * 31 + O);
    const x = Tensor.from(randn(rng, N * I), [N, I]);
    const w = Tensor.from(randn(rng, O * I), [O, I]);
    const bias = Tensor.from(randn(rng, O), [O]);
    const exact = noGrad(() => linear(x, w, bias)).data.slice();
    setWeightFormat('int8');
    const y = noGrad(() => linear(x, w, bias));
    const { q, scale } = quantizeRowsInt8(w.data, O, I);
    const err = maxDiff(y.data, naiveInt8(x.data, q, scale, bias.data, N, O, I));
    console.log(`int8 weights linear ${N}x${O}x${I}: max |diff| vs int8 reference ${err.toExponential(2)}, vs float32 ${maxDiff(y.data, exact).toExponential(2)}`);
    expect(err).toBeLessThan(1e-5 * Math.sqrt(I));
    expect(maxDiff(y.data, exact)).toBeGreaterThan(0);
    expect(maxDiff(y.data, exact)).toBeLessThan(0.05 * Math.sqrt(I));
    setWeightFormat('f32');
    expect(noGrad(() => linear(x, w, bias)).data).toEqual(exact);
  });

  it('lowRankLinear: the base on the int8 weights, the LoRA branch in float32; gradients never take the path', () => {
    const [N, O, I, R] = [3, 24, 40, 4];
    const rng = new Rng(9);
    const x = Tensor.from(randn(rng, N * I), [N, I]);
    const w = Tensor.from(randn(rng, O * I), [O, I]);
    const lr = { A: Tensor.from(randn(rng, R * I), [R, I]), B: Tensor.from(randn(rng, O * R), [O, R]), scale: 2, dropout: 0, seed: 0 };
    setWeightFormat('int8');
    const y = noGrad(() => lowRankLinear(x, w, null, lr));
    const { q, scale } = quantizeRowsInt8(w.data, O, I);
    const want = naiveInt8(x.data, q, scale, null, N, O, I);
    addLoraBranch(want, x.data, lr, N, O, I, R);
    expect(maxDiff(y.data, want)).toBeLessThan(1e-4);
    const xg = Tensor.from(x.data.slice(), [N, I], true);
    const exact = (() => { setWeightFormat('f32'); const v = noGrad(() => linear(xg, w)).data.slice(); setWeightFormat('int8'); return v; })();
    expect(linear(xg, w).data).toEqual(exact);
  });

  it('holdWeightsInt8 frees the float32 copy; reading it back gives scale * q; a fused adapter is quantized again', () => {
    const w = Tensor.from(Float32Array.from([1, -0.5, 0.25, 2, 0, 0]), [3, 2]);
    const layers = [{ weight: w }];
    expect(holdWeightsInt8(layers)).toBe(3 * 6 - 4 * 3);
    const st = layers[0].weight.storage as Int8Storage;
    expect(st).toBeInstanceOf(Int8Storage);
    expect(Array.from(st.q)).toEqual([127, -64, 16, 127, 0, 0]);
    const back = Array.from(layers[0].weight.data);
    expect(back[0]).toBeCloseTo(1, 6);
    expect(back[1]).toBeCloseTo(-64 / 127, 6);
    expect(back.slice(4)).toEqual([0, 0]);
    expect(holdWeightsInt8(layers)).toBe(0); // already held
    layers[0].weight.data[4] = 3; // e.g. W += s B A of a fused adapter
    weightChanged(layers[0].weight);
    expect(st.scale[2]).toBeCloseTo(3 / 127, 6);
    expect(st.q[4]).toBe(127);
  });

});

describe.each([
  ['bf16', Bf16Storage, 0.03],
  ['int8', Int8Storage, 0.05],
] as const)('a tiny model held in %s', (format, storage, tol) => {
  it('generates logits close to float32, prefill and decode agreeing', () => {
    const dir = tinyModelDir({ seed: 5 });
    const ids = Int32Array.from([3, 17, 42, 9, 120, 64, 7, 11, 5, 2]);
    const logitsOf = (m: ReturnType<typeof loadModel>['model'], stepwise: boolean, kv: 'f32' | 'bf16' = 'f32'): Float32Array => noGrad(() => {
      if (!stepwise) return m.forward({ ids, batch: 1, seqLen: ids.length, logits: 'last' }).logits!.data.slice();
      const cache = m.createCache(1, ids.length, kv);
      let out = null;
      for (const id of ids) out = m.forward({ ids: Int32Array.of(id), batch: 1, seqLen: 1, cache, logits: 'last' });
      return out!.logits!.data.slice();
    });
    const f32 = logitsOf(loadModel(dir).model, false);
    const opened = openModel(dir, { weights: format });
    expect(weightFormat()).toBe(format);
    expect(opened.model.linears().every((l) => l.weight.storage instanceof storage)).toBe(true);
    const prefill = logitsOf(opened.model, false); // 10 rows: the GEMM (bf16) or widened blocks on sgemm (int8)
    const decode = logitsOf(opened.model, true); // one row per step: the decode-row kernel
    const scale = Math.max(...f32.map(Math.abs));
    console.log(`tiny model, ${format} weights: max |logit diff| vs float32 ${maxDiff(prefill, f32).toExponential(2)} ` +
      `(largest logit ${scale.toFixed(2)}), prefill vs step-by-step ${maxDiff(prefill, decode).toExponential(2)}`);
    expect(maxDiff(prefill, f32)).toBeLessThan(tol * scale);
    expect(maxDiff(prefill, f32)).toBeGreaterThan(0);
    expect(maxDiff(prefill, decode)).toBeLessThan(1e-4 * scale);
    // over a bf16 cache (what generation holds beside these weights) the keys and values are rounded: bf16 rounding,
    // not more
    const rounded = logitsOf(opened.model, true, 'bf16');
    expect(maxDiff(rounded, decode)).toBeGreaterThan(0);
    expect(maxDiff(rounded, decode)).toBeLessThan(2e-2 * scale);
  });
});
