// Bad input reaches the user as an E_SHAPE / E_NONFINITE / E_TOKEN_RANGE error naming the op and shapes.
import { describe, expect, it, afterEach } from 'vitest';
import {
  Tensor, add, attention, crossEntropy, embedding, linear, matmul, rmsnorm, setCheckFinite, softmax, swiglu, view,
} from '../../src/tensor/index.js';
import { ShitateError } from '../../src/errors.js';
import { randT } from './helpers.js';

function errorOf(fn: () => unknown): ShitateError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ShitateError) return e;
    throw e;
  }
  throw new Error('expected a ShitateError');
}

describe('mismatched shapes name the op and the shapes', () => {
  it('matmul inner dimensions', () => {
    const e = errorOf(() => matmul(randT([2, 3], 1), randT([4, 5], 2)));
    expect(e.code).toBe('E_SHAPE');
    expect(e.message).toContain('matmul');
    expect(e.message).toContain('[2, 3]');
    expect(e.message).toContain('[4, 5]');
    expect(e.hint.length).toBeGreaterThan(0);
  });

  it('linear, add, swiglu, rmsnorm, view, attention', () => {
    expect(errorOf(() => linear(randT([2, 3], 1), randT([4, 5], 2))).message).toMatch(/linear.*\[2, 3\].*\[4, 5\]/);
    expect(errorOf(() => add(randT([2, 3], 1), randT([2], 2))).message).toMatch(/add.*\[2, 3\].*\[2\]/);
    expect(errorOf(() => swiglu(randT([2, 3], 1), randT([3, 2], 2))).message).toMatch(/swiglu/);
    expect(errorOf(() => rmsnorm(randT([2, 3], 1), randT([4], 2), 1e-5)).message).toMatch(/rmsnorm.*\[2, 3\].*\[4\]/);
    expect(errorOf(() => view(randT([2, 3], 1), [4, 2])).message).toMatch(/view/);
    const q = randT([1, 2, 3, 4], 1);
    const k = randT([1, 2, 2, 4], 2);
    expect(errorOf(() => attention(q, k, k)).message).toMatch(/attention.*H divisible by Hkv/);
  });

  it('token ids and targets outside the vocabulary', () => {
    expect(errorOf(() => embedding(randT([5, 2], 1), Int32Array.of(0, 5))).code).toBe('E_TOKEN_RANGE');
    expect(errorOf(() => crossEntropy(randT([2, 5], 1), Int32Array.of(1, 7))).message).toMatch(/target 7 at row 1/);
  });
});

describe('zero-size tensors', () => {
  it('empty batches flow through matmul; reductions over an empty last dimension are refused', () => {
    const y = matmul(Tensor.zeros([0, 3]), randT([3, 4], 1));
    expect(y.shape).toEqual([0, 4]);
    const e = errorOf(() => softmax(Tensor.zeros([2, 0])));
    expect(e.message).toMatch(/softmax.*\[2, 0\]/);
  });
});

describe('NaN/Inf debug check', () => {
  afterEach(() => setCheckFinite(false));
  it('is off by default and names the op, operand and index when on', () => {
    const a = Tensor.from([1, NaN, 3], [1, 3]);
    const b = randT([1, 3], 2);
    expect(() => add(a, b)).not.toThrow();
    setCheckFinite(true);
    const e = errorOf(() => add(a, b));
    expect(e.code).toBe('E_NONFINITE');
    expect(e.message).toBe('add: a [1, 3] holds NaN at flat index 1');
  });
});
