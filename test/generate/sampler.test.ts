// The sampler on hand-worked distributions: greedy, repetition penalty, temperature, top-k (ties kept),
// top-p (HF nucleus), min-p, their order, the vocabulary limit, seeded draws, and refused settings.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { kthLargest, kthLargestHeap } from '../../src/generate/sampler.js';
import { makeSampler, resolveSampling, samplingDistribution, seededUniform } from '../../src/generate/index.js';
import { EMPTY_GENERATION_CONFIG } from '../../src/io/generation-config.js';
import { expectShitateError } from '../io/helpers.js';

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);
const logOf = (ps: number[]): Float32Array => f32(ps.map(Math.log));
const P4 = [0.5, 0.3, 0.15, 0.05];

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i]), `index ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThan(tol);
}

const normalise = (xs: number[]): number[] => {
  const s = xs.reduce((a, b) => a + b, 0);
  return xs.map((x) => x / s);
};

describe('greedy', () => {
  it('takes the argmax, the first of ties, and never an id at or past the vocabulary limit', () => {
    expect(makeSampler()(f32([1, 3, 2]), [])).toBe(1);
    expect(makeSampler({ temperature: 0 })(f32([5, 1, 5]), [])).toBe(0);
    expect(makeSampler({ vocabLimit: 3 })(f32([1, 2, 0, 9, 9]), [])).toBe(1);
  });

  it('applies the repetition penalty once per seen id, dividing positive and multiplying negative logits', () => {
    // [2, -1, 1.5] with ids 0 and 1 seen, penalty 2 -> [1, -2, 1.5]
    expect(makeSampler({ repetitionPenalty: 2 })(f32([2, -1, 1.5]), [0, 1])).toBe(2);
    // seen twice is still divided once: 2/2 = 1 > 0.9 (twice would give 0.5 < 0.9)
    expect(makeSampler({ repetitionPenalty: 2 })(f32([2, 0.9]), [0, 0])).toBe(0);
    // a negative logit is pushed down: -0.5 * 3 = -1.5 < -1
    expect(makeSampler({ repetitionPenalty: 3 })(f32([-0.5, -1]), [0])).toBe(1);
    // ids beyond the logits are ignored
    expect(makeSampler({ repetitionPenalty: 2 })(f32([1, 0.6]), [7])).toBe(0);
  });
});

describe('the sampling distribution', () => {
  it('divides by the temperature', () => {
    close(samplingDistribution(f32([0, Math.log(2)]), [], { temperature: 1, topK: 0 }), [1 / 3, 2 / 3]);
    close(samplingDistribution(f32([0, Math.log(2)]), [], { temperature: 0.5, topK: 0 }), [1 / 5, 4 / 5]);
  });

  it('penalises before the temperature', () => {
    const e = [Math.exp(1), Math.exp(-2), Math.exp(1.5)];
    close(samplingDistribution(f32([2, -1, 1.5]), [0, 1], { temperature: 1, repetitionPenalty: 2 }), normalise(e));
  });

  it('top-k keeps the k largest and every tie with the k-th', () => {
    close(samplingDistribution(f32([1, 5, 2]), [], { temperature: 1, topK: 1 }), [0, 1, 0]);
    const e = [Math.exp(3), Math.exp(2), Math.exp(2), 0];
    close(samplingDistribution(f32([3, 2, 2, 1]), [], { temperature: 1, topK: 2 }), normalise(e));
  });

  it('top-p keeps the smallest most-likely set reaching top_p, at least one token', () => {
    close(samplingDistribution(logOf(P4), [], { temperature: 1, topP: 0.75 }), [0.625, 0.375, 0, 0]);
    close(samplingDistribution(logOf(P4), [], { temperature: 1, topP: 0.85 }), normalise([0.5, 0.3, 0.15, 0]));
    close(samplingDistribution(logOf(P4), [], { temperature: 1, topP: 0.4 }), [1, 0, 0, 0]);
    close(samplingDistribution(logOf(P4), [], { temperature: 1, topP: 1 }), P4);
  });

  it('min-p drops tokens below min_p times the top probability', () => {
    close(samplingDistribution(logOf(P4), [], { temperature: 1, minP: 0.2 }), normalise([0.5, 0.3, 0.15, 0]));
    close(samplingDistribution(logOf(P4), [], { temperature: 1, minP: 0.7 }), [1, 0, 0, 0]);
  });

  it('applies top-k before top-p (transformers order)', () => {
    // top-k 3 renormalises to [.526, .316, .158]: .526 + .316 >= 0.82 keeps two.
    close(samplingDistribution(logOf(P4), [], { temperature: 1, topK: 3, topP: 0.82 }), [0.625, 0.375, 0, 0]);
    // on the full distribution 0.5 + 0.3 < 0.82, so the nucleus needs three.
    close(samplingDistribution(logOf(P4), [], { temperature: 1, topP: 0.82 }), normalise([0.5, 0.3, 0.15, 0]));
  });

  it('ends at the vocabulary limit', () => {
    close(samplingDistribution(f32([0, 0, 50, 50]), [], { temperature: 1, vocabLimit: 2 }), [0.5, 0.5]);
  });

  it('top-p on a large vocabulary equals a full sort', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.double({ min: 0.05, max: 0.99, noNaN: true }), (seed, topP) => {
      const u = seededUniform(seed);
      const logits = Float32Array.from({ length: 2000 }, () => (u() - 0.5) * 12);
      const got = samplingDistribution(logits, [], { temperature: 1, topP });
      const full = softmax64(logits);
      const order = [...full.keys()].sort((a, b) => full[b] - full[a] || a - b);
      const keep = new Set<number>();
      let cum = 0;
      for (const i of order) {
        keep.add(i);
        cum += full[i];
        if (cum >= topP) break;
      }
      for (let i = 0; i < got.length; i++) expect(got[i] > 0).toBe(keep.has(i));
    }), { numRuns: 15 });
  });
});

function softmax64(x: Float32Array): number[] {
  const m = Math.max(...x);
  const e = [...x].map((v) => Math.exp(v - m));
  return normalise(e);
}

describe('kthLargest', () => {
  it('equals the k-th entry of a descending sort, with many ties', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1, maxLength: 60 }), fc.nat(), (xs, r) => {
      const k = (r % xs.length) + 1;
      const sorted = [...xs].sort((a, b) => b - a);
      expect(kthLargest(Float64Array.from(xs), k)).toBe(sorted[k - 1]);
      expect(kthLargestHeap(Float64Array.from(xs), k)).toBe(sorted[k - 1]);
    }));
  });
});

describe('top-k sampling on the survivors only', () => {
  it('draws the same tokens as the full warp-and-draw path', () => {
    // minP 1e-300 removes nothing (every survivor is far above it) but sends the sampler down the general path
    fc.assert(fc.property(fc.array(fc.integer({ min: -40, max: 40 }), { minLength: 2, maxLength: 300 }), fc.integer({ min: 1, max: 60 }),
      fc.constantFrom(0.3, 0.7, 1, 1.3), fc.nat(), (xs, k, temperature, seed) => {
        const logits = Float32Array.from(xs, (x) => x / 8); // many ties
        const fast = makeSampler({ temperature, topK: k, seed });
        const full = makeSampler({ temperature, topK: k, seed, minP: 1e-300 });
        const history = [1, 2, 2];
        for (let i = 0; i < 20; i++) expect(fast(logits, history)).toBe(full(logits, history));
        // with a repetition penalty and a vocabulary limit too
        const opts = { temperature, topK: k, seed, repetitionPenalty: 1.3, vocabLimit: Math.max(1, xs.length - 3) };
        const [fastP, fullP] = [makeSampler(opts), makeSampler({ ...opts, minP: 1e-300 })];
        for (let i = 0; i < 20; i++) expect(fastP(logits, history)).toBe(fullP(logits, history));
        // a vocabulary limit without a penalty: the kernels' candidates from the first ids only
        const cut = { temperature, topK: Math.min(k, xs.length - 1), seed, vocabLimit: xs.length - 1 };
        const [fastV, fullV] = [makeSampler(cut), makeSampler({ ...cut, minP: 1e-300 })];
        for (let i = 0; i < 20; i++) expect(fastV(logits, history)).toBe(fullV(logits, history));
      }));
  });
});

describe('seeded draws', () => {
  it('follow the distribution', () => {
    const s = makeSampler({ temperature: 1, topK: 0, seed: 7 });
    const logits = logOf([0.2, 0.8]);
    let ones = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) ones += s(logits, []);
    expect(Math.abs(ones / n - 0.8)).toBeLessThan(0.02);
  });

  it('never draw a removed token', () => {
    const s = makeSampler({ temperature: 1, topP: 0.75, seed: 3 });
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(s(logOf(P4), []));
    expect([...seen].sort()).toEqual([0, 1]);
  });

  it('repeat under a seed and differ across seeds', () => {
    const logits = f32(Array.from({ length: 50 }, (_, i) => Math.sin(i)));
    const run = (seed: number): number[] => {
      const s = makeSampler({ temperature: 1, topK: 0, seed });
      return Array.from({ length: 40 }, () => s(logits, []));
    };
    expect(run(11)).toEqual(run(11));
    expect(run(11)).not.toEqual(run(12));
  });
});

describe('settings', () => {
  it('refuse values without meaning', () => {
    expectShitateError(() => makeSampler({ temperature: -1 }), 'E_CONFIG', 'temperature');
    expectShitateError(() => makeSampler({ topP: 0 }), 'E_CONFIG', 'top_p');
    expectShitateError(() => makeSampler({ topP: 1.5 }), 'E_CONFIG', 'top_p');
    expectShitateError(() => makeSampler({ topK: 2.5 }), 'E_CONFIG', 'top_k');
    expectShitateError(() => makeSampler({ minP: 2 }), 'E_CONFIG', 'min_p');
    expectShitateError(() => makeSampler({ repetitionPenalty: 0 }), 'E_CONFIG', 'repetition_penalty');
    expectShitateError(() => makeSampler({ temperature: Number.NaN }), 'E_CONFIG', 'temperature');
  });

  it('follow generation_config: greedy unless do_sample, its values when it samples, the caller first', () => {
    const gen = { ...EMPTY_GENERATION_CONFIG, temperature: 0.6, topP: 0.9, topK: 20, repetitionPenalty: 1.1 };
    expect(resolveSampling(gen, {}).temperature).toBe(0);
    expect(resolveSampling({ ...gen, doSample: false }, {}).temperature).toBe(0);
    expect(resolveSampling({ ...gen, doSample: true }, {})).toMatchObject({ temperature: 0.6, topP: 0.9, topK: 20, repetitionPenalty: 1.1 });
    expect(resolveSampling({ ...gen, doSample: true }, { temperature: 0, topK: 5 })).toMatchObject({ temperature: 0, topK: 5 });
    expect(resolveSampling(null, { temperature: 0.8 })).toMatchObject({ temperature: 0.8, topK: 50, topP: 1, repetitionPenalty: 1 });
  });
});
