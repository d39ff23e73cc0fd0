// The fused per-sequence log-likelihood (linearSequenceLogProbs) against the unfused linear + cross-entropy
// per row: values and the gradient of a weighted sum of rows, with and without the final soft-cap.
import { describe, expect, it } from 'vitest';
import { Tensor, backward, crossEntropy, linear, narrow, noGrad, scale, softcap, sum, mul, add } from '../../src/tensor/index.js';
import { linearSequenceLogProbs } from '../../src/tensor/ops/seq-logprob.js';
import { numGrad, randT, relErr } from './helpers.js';

const R = 3;
const T = 4;
const C = 8;
const V = 13;
const targets = Int32Array.of(4, 12, -100, 0, -100, -100, 7, 7, 1, 2, 3, -100);
const weights = Tensor.from([0.7, -1.3, 0.4]);

/** Σ_b weights[b] * logp_b computed row by row without fusion. */
function unfused(h: Tensor, w: Tensor, cap: number): { rows: number[]; total: Tensor } {
  const rows: number[] = [];
  let total: Tensor | null = null;
  for (let b = 0; b < R; b++) {
    const hb = narrow(h, 0, b * T, T);
    const logits = cap > 0 ? softcap(linear(hb, w), cap) : linear(hb, w);
    const lp = scale(crossEntropy(logits, targets.subarray(b * T, (b + 1) * T), { normalizer: 1 }), -1);
    rows.push(lp.item());
    const term = scale(lp, weights.data[b]);
    total = total ? add(total, term) : term;
  }
  return { rows, total: total! };
}

describe('linearSequenceLogProbs', () => {
  for (const cap of [0, 1.5]) {
    it(`sums each row's target log-probabilities and back-propagates per row (softcap ${cap})`, () => {
      const h = randT([R * T, C], 31, true, 2);
      const w = randT([V, C], 32, false, 2);
      const out = linearSequenceLogProbs(h, w, targets, R, cap > 0 ? { softcap: cap } : {});
      expect(out.shape).toEqual([R]);
      backward(out, weights);
      const fused = h.grad!.data.slice();
      h.grad = null;
      const ref = unfused(h, w, cap);
      for (let b = 0; b < R; b++) expect(Math.abs(out.data[b] - ref.rows[b])).toBeLessThan(1e-5);
      backward(ref.total);
      expect(relErr(fused, h.grad!.data)).toBeLessThan(1e-5);
      // and against finite differences of the fused value itself
      const numeric = noGrad(() => numGrad(() => sum(mul(linearSequenceLogProbs(h, w, targets, R, cap > 0 ? { softcap: cap } : {}), weights)).item(), h));
      expect(relErr(fused, numeric)).toBeLessThan(2e-2);
    });
  }

  it('a row without targets scores 0 and gets no gradient', () => {
    const h = randT([2 * T, C], 33, true);
    const w = randT([V, C], 34);
    const t = Int32Array.of(1, 2, 3, 4, -100, -100, -100, -100);
    const out = linearSequenceLogProbs(h, w, t, 2);
    expect(out.data[1]).toBe(0);
    backward(out, Tensor.from([1, 1]));
    expect(h.grad!.data.subarray(T * C).every((g) => g === 0)).toBe(true);
  });

  it('refuses a trainable LM head and ragged rows', () => {
    const h = randT([R * T, C], 35, true);
    expect(() => linearSequenceLogProbs(h, randT([V, C], 36, true), targets, R)).toThrow(/frozen LM head/);
    expect(() => linearSequenceLogProbs(h, randT([V, C], 36), targets, 5)).toThrow(/equal length/);
  });
});
