// Inference weight formats (src/tensor/weights.ts): with 'bf16', linear layers multiply r(x) by the rounded weights
// with float32 sums (checked against a double-precision product of the rounded values), LoRA's branch stays
// float32, gradients never take the path, and a model held in bf16 generates close to its float32 self.
import { afterEach, describe, expect, it } from 'vitest';
import {
  Bf16Storage, Tensor, holdWeightsBf16, linear, lowRankLinear, noGrad, setWeightFormat, weightFormat,
} from '../../src/tensor/index.js';
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
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < O; o++) {
        let s = 0;
        for (let k = 0; k < R; k++) {
          let u = 0;
          for (let i = 0; i < I; i++) u += x.data[n * I + i] * lr.A.data[k * I + i];
          s += u * lr.B.data[o * R + k];
        }
        base[n * O + o] += lr.scale * s;
      }
    }
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

  it('a tiny model held in bf16 generates logits close to float32, prefill and decode agreeing', () => {
    const dir = tinyModelDir({ seed: 5 });
    const ids = Int32Array.from([3, 17, 42, 9, 120, 64, 7, 11, 5, 2]);
    const logitsOf = (m: ReturnType<typeof loadModel>['model'], stepwise: boolean): Float32Array => noGrad(() => {
      if (!stepwise) return m.forward({ ids, batch: 1, seqLen: ids.length, logits: 'last' }).logits!.data.slice();
      const cache = m.createCache(1, ids.length);
      let out = null;
      for (const id of ids) out = m.forward({ ids: Int32Array.of(id), batch: 1, seqLen: 1, cache, logits: 'last' });
      return out!.logits!.data.slice();
    });
    const f32 = logitsOf(loadModel(dir).model, false);
    const opened = openModel(dir, { weights: 'bf16' });
    expect(weightFormat()).toBe('bf16');
    expect(opened.model.linears().every((l) => l.weight.storage instanceof Bf16Storage)).toBe(true);
    const prefill = logitsOf(opened.model, false); // 10 rows: the bf16 GEMM
    const decode = logitsOf(opened.model, true); // one row per step: the decode-row kernel
    const scale = Math.max(...f32.map(Math.abs));
    console.log(`tiny model, bf16 weights: max |logit diff| vs float32 ${maxDiff(prefill, f32).toExponential(2)} ` +
      `(largest logit ${scale.toFixed(2)}), prefill vs step-by-step ${maxDiff(prefill, decode).toExponential(2)}`);
    expect(maxDiff(prefill, f32)).toBeLessThan(0.03 * scale);
    expect(maxDiff(prefill, f32)).toBeGreaterThan(0);
    expect(maxDiff(prefill, decode)).toBeLessThan(1e-4 * scale);
  });
});
