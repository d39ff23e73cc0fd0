// Source-anchored decoding on a toy vocabulary: which tokens get the bonus and when, driven through the greedy
// sampler one step at a time as generation drives it (the history holds the prompt, then the reply).
import { describe, expect, it } from 'vitest';
import { anchoredSampler, makeSampler, type AnchorOptions, type Sampler } from '../../src/generate/index.js';

const TEXT = ['x', 'A', 'B', 'C', '。', 'D', 'E', '\n', 'F', 'G', 'H', 'I', ' days.', ' Keep'];
const V = TEXT.length;
const tokenText = (id: number) => TEXT[id];
const greedy = makeSampler({ temperature: 0 });
const PROMPT = [0, 0, 0];

/** Greedy steps of an anchored sampler over fixed logits (the model's preference, the same every step). */
function run(sources: number[][], strength: number, steps: number, model: (step: number) => Float32Array = () => new Float32Array(V), extra: Partial<AnchorOptions> = {}): number[] {
  const s: Sampler = anchoredSampler(greedy, PROMPT.length, { sources, strength, tokenText, ...extra });
  const history = [...PROMPT];
  for (let i = 0; i < steps; i++) history.push(s(model(i), history));
  return history.slice(PROMPT.length);
}

/** Logits preferring `id` by `by` over every other token. */
function prefer(id: number, by: number): Float32Array {
  const x = new Float32Array(V);
  x[id] = by;
  return x;
}

describe('anchoredSampler', () => {
  it('is the plain sampler at strength 0 and without sources', () => {
    expect(anchoredSampler(greedy, 3, { sources: [[1, 2]], strength: 0, tokenText })).toBe(greedy);
    expect(anchoredSampler(greedy, 3, { sources: [[]], strength: 5, tokenText })).toBe(greedy);
    expect(() => anchoredSampler(greedy, 3, { sources: [[1]], strength: -1, tokenText })).toThrow(/quote strength: expected a number from 0 to 100/);
  });

  it('quotes a source from its start where the model has no preference, and leaves the logits alone at 0', () => {
    expect(run([[1, 2, 3, 4, 5, 6]], 5, 6)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(run([[1, 2, 3, 4, 5, 6]], 0, 3)).toEqual([0, 0, 0]);
  });

  it('keeps following the span the reply is quoting, the longest match first', () => {
    // the model writes "8 9" itself (mid-sentence in the source): from two tokens in common on, the span continues
    const model = (step: number) => (step === 0 ? prefer(8, 20) : step === 1 ? prefer(9, 20) : new Float32Array(V));
    expect(run([[1, 2, 8, 9, 10, 11]], 4, 4, model)).toEqual([8, 9, 10, 11]);
    // one token in common mid-sentence is no span: a quote's opening (1) outweighs the token after it (9)
    expect(run([[1, 2, 8, 9, 10, 11]], 4, 2, (step) => (step === 0 ? prefer(8, 20) : new Float32Array(V)))).toEqual([8, 1]);
    // two equal sources share "2 3": after "1 2 3" only the one quoted continues (4), not the other's 10
    expect(run([[5, 2, 3, 10], [1, 2, 3, 4]], 4, 4, (step) => (step === 0 ? prefer(1, 1) : new Float32Array(V)), { decay: 1 })).toEqual([1, 2, 3, 4]);
  });

  it('gives the best source the most: each later one gets decay times the one before', () => {
    expect(run([[5, 6], [8, 9]], 4, 2)).toEqual([5, 6]);
    // the model leaning to the second source's start by less than the difference keeps the first
    expect(run([[5, 6], [8, 9]], 4, 1, () => prefer(8, 1.5))).toEqual([5]);
    expect(run([[5, 6], [8, 9]], 4, 1, () => prefer(8, 2.5))).toEqual([8]);
    expect(run([[5, 6], [8, 9]], 4, 1, () => prefer(8, 1.5), { decay: 1 })).toEqual([8]);
  });

  it('lets the model outweigh the bonus when it prefers another token by more than it', () => {
    expect(run([[1, 2, 3]], 4, 3, (step) => (step === 1 ? prefer(9, 4.5) : new Float32Array(V)))).toEqual([1, 9, 0]);
    expect(run([[1, 2, 3]], 4, 3, (step) => (step === 1 ? prefer(9, 3.5) : new Float32Array(V)))).toEqual([1, 2, 3]);
  });

  it('never pushes a line break: where a quoted line ends, the model decides', () => {
    // after "1 2" the source goes on with a line break (7); without the bonus the model's choice (0) stands
    expect(run([[1, 2, 7, 5, 6]], 5, 3)).toEqual([1, 2, 0]);
    expect(run([[1, 2, 7, 5, 6]], 5, 3, (step) => (step === 2 ? prefer(7, 1) : new Float32Array(V)))).toEqual([1, 2, 7]);
  });

  it('quotes a position once: no loop over a quoted source, and a sentence after 。 can open a quote', () => {
    // the whole source is quoted once, then nothing is pushed any more
    expect(run([[1, 2, 3]], 5, 6)).toEqual([1, 2, 3, 0, 0, 0]);
    // the reply opens at the second sentence (the model leans to 5 at the start): it goes on from there
    const model = (step: number) => (step === 0 ? prefer(5, 2.5) : new Float32Array(V));
    expect(run([[1, 2, 4, 5, 6, 9]], 4, 3, model)).toEqual([5, 6, 9]);
    // an English sentence end (a token ending in ".") opens the next sentence too
    const english = (step: number) => (step === 0 ? prefer(13, 2.5) : new Float32Array(V));
    expect(run([[1, 12, 13, 2, 3]], 4, 3, english)).toEqual([13, 2, 3]);
    expect(run([[1, 10, 13, 2, 3]], 4, 1, english)).toEqual([1]); // 13 after a plain token opens nothing
  });
});
