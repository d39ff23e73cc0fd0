// Gradient hand-over on the tape: a view or an add passes its output's gradient buffer on to an input that has
// none yet (no zero-filled buffer, no add), and a GEMM writes an input's first gradient instead of adding it to
// zeros. The gradients must be those of plain accumulation in every arrangement: one consumer, several, the
// handed one consumed again, a leaf (whose gradient is its own array and accumulates across backward calls),
// x + x, and inside the step pool with returned buffers poisoned.
import { afterEach, describe, expect, it } from 'vitest';
import { Tensor, add, backward, linear, lowRankLinear, mul, rope, scale, sum, view } from '../../src/tensor/index.js';
import { addRmsnorm } from '../../src/tensor/ops/residual-norm.js';
import { clearTape, gradSlots, handGrad } from '../../src/tensor/tape.js';
import { referenceKernels } from '../../src/kernels/index.js';
import { resetPool, setPoolPoison, withStepPool } from '../../src/tensor/pool.js';
import { randT } from './helpers.js';

afterEach(() => {
  setPoolPoison(false);
  resetPool();
});

/** sum(y * fixed weights): every element of y gets its own gradient */
function proj(y: Tensor, seed: number): Tensor {
  return sum(mul(y, randT([...y.shape], seed)));
}

/** The gradients of xs after one backward of build(), inside the step pool (poisoned) or outside it. */
function grads(xs: Tensor[], build: () => Tensor, pooled: boolean): Float32Array[] {
  for (const x of xs) x.grad = null;
  const run = (): Float32Array[] => {
    backward(build());
    return xs.map((x) => x.grad!.data.slice());
  };
  if (!pooled) return run();
  setPoolPoison(true);
  return withStepPool(run);
}

/** The same graph's gradients computed by hand-written accumulation (the reference arithmetic). */
function expectClose(got: Float32Array[], want: Float32Array[], tol = 1e-6): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    expect(g.length).toBe(want[i].length);
    for (let j = 0; j < g.length; j++) expect(Math.abs(g[j] - want[i][j]), `input ${i} element ${j}`).toBeLessThanOrEqual(tol);
  });
}

describe('gradient hand-over', () => {
  it('a chain of views and adds gives the gradients of plain accumulation, pooled or not', () => {
    const w = randT([4, 3], 1, true);
    const x = randT([2, 3, 3], 2, true);
    const b = randT([4], 3, true);
    // h = x W^T + b (an op output), viewed twice, added to itself through a view, used again afterwards
    const build = (): Tensor => {
      const h = linear(x, w, b);
      const v1 = view(h, [6, 4]);
      const v2 = view(v1, [2, 12]);
      const s = add(view(v2, [2, 3, 4]), h); // h consumed twice: the second consumer adds to the handed buffer
      return add(proj(s, 7), proj(scale(v1, 0.5), 8));
    };
    const plain = grads([x, w, b], build, false);
    const pooled = grads([x, w, b], build, true);
    expectClose(pooled, plain, 0);
    // by hand: ds = c7 (same shape as h), through the view chain + the direct use -> dh = 2 c7 + 0.5 c8
    const c7 = randT([2, 3, 4], 7).data;
    const c8 = randT([6, 4], 8).data;
    const dh = c7.map((v, i) => 2 * v + 0.5 * c8[i]);
    const db = new Float32Array(4);
    for (let n = 0; n < 6; n++) for (let o = 0; o < 4; o++) db[o] += dh[n * 4 + o];
    expectClose([plain[2]], [db], 1e-5);
  });

  it('x + x and a leaf: leaves keep their own gradient and accumulate across backward calls', () => {
    const p = randT([2, 5], 4, true);
    const once = grads([p], () => proj(add(view(p, [10]), view(p, [10])), 9), false)[0];
    const c9 = randT([10], 9).data;
    expectClose([once], [c9.map((v) => 2 * v)], 1e-6);
    // a second backward without clearing adds to the first
    p.grad = null;
    backward(proj(view(p, [10]), 9));
    const first = p.grad!.data;
    backward(proj(view(p, [10]), 9));
    expect(p.grad!.data).toBe(first); // the leaf's own array, not a handed buffer
    expectClose([first], [c9.map((v) => 2 * v)], 1e-6);
    // an op output added to itself: dout handed to it, then the second share added onto it
    const q = randT([10], 5, true);
    const viaOp = grads([q], () => {
      const h = scale(q, 3);
      return proj(add(h, h), 9);
    }, true)[0];
    expectClose([viaOp], [c9.map((v) => 6 * v)], 1e-5);
  });

  it('the fused residual add hands its gradient to the stream and still adds the branch', () => {
    const x0 = randT([3, 8], 11, true);
    const y0 = randT([3, 8], 12, true);
    const w = randT([8], 13);
    for (const mult of [1, 0.25]) {
      const build = (): Tensor => {
        const x = scale(x0, 1.5); // op outputs, so the add may hand its gradient over
        const y = scale(y0, -2);
        const { sum: s, out } = addRmsnorm(x, y, w, 1e-5, { multiplier: mult });
        return add(proj(s, 14), proj(out, 15));
      };
      const plain = grads([x0, y0], build, false);
      expectClose(grads([x0, y0], build, true), plain, 0);
      // dy = mult * dsum and dx = dsum: so dy0 / -2 = mult * dx0 / 1.5
      const dx = plain[0].map((v) => v / 1.5);
      const dy = plain[1].map((v) => v / -2);
      expectClose([dy], [dx.map((v) => mult * v)], 1e-5);
    }
  });

  it('LoRA linears write a fresh input gradient and add to one that exists', () => {
    const x = randT([4, 6], 21, true);
    const w = randT([5, 6], 22);
    const A = randT([2, 6], 23, true);
    const B = randT([5, 2], 24, true);
    const lr = { A, B, scale: 2, dropout: 0, seed: 1 };
    const build = (): Tensor => {
      const h = scale(x, 1); // an op output consumed by two LoRA linears: the first writes, the second adds
      return add(proj(lowRankLinear(h, w, null, lr), 25), proj(lowRankLinear(h, w, null, lr), 26));
    };
    const plain = grads([x, A, B], build, false);
    expectClose(grads([x, A, B], build, true), plain, 0);
    // the two heads' sum equals one head with weights c25 + c26 (linear in the output)
    const one = grads([x, A, B], () => proj(lowRankLinear(scale(x, 1), w, null, lr), 25), false);
    const two = grads([x, A, B], () => proj(lowRankLinear(scale(x, 1), w, null, lr), 26), false);
    expectClose(plain, one.map((g, i) => g.map((v, j) => v + two[i][j])), 1e-5);
  });

  it('backward kernels write a fresh input gradient (no zero-fill) and add to one that exists', () => {
    const [N, H, D, P] = [6, 2, 4, 8];
    const cos = Float32Array.from({ length: P * D / 2 }, (_, i) => Math.cos(0.3 * i));
    const sin = Float32Array.from({ length: P * D / 2 }, (_, i) => Math.sin(0.3 * i));
    const pos = Int32Array.from([0, 1, 2, 5, 7, 3]);
    const p = randT([N, H, D], 41, true);
    const c = randT([N, H, D], 42); // proj(., 42)'s weights
    const back = (g: Float32Array): Float32Array => {
      const d = new Float32Array(g.length);
      referenceKernels.ropeBackward(d, g, cos, sin, pos, N, H, D, true);
      return d;
    };
    // x = 2p, an op output whose only gradient is rope's: written into a fresh (poisoned when pooled) buffer
    const once = (): Tensor => proj(rope(scale(p, 2), cos, sin, pos), 42);
    const want = back(c.data).map((v) => 2 * v);
    for (const pooled of [false, true]) expectClose(grads([p], once, pooled), [want], 1e-6);
    // x also feeds an add whose backward runs first: rope's backward then adds to x's gradient
    const twice = (): Tensor => {
      const x = scale(p, 2);
      return proj(add(rope(x, cos, sin, pos), x), 42);
    };
    const wantTwice = back(c.data).map((v, i) => 2 * (v + c.data[i]));
    for (const pooled of [false, true]) expectClose(grads([p], twice, pooled), [wantTwice], 1e-6);
  });

  it('gradSlots writes only fresh, distinct op outputs and adds otherwise', () => {
    const leaf = randT([4], 51, true);
    const frozen = randT([3], 52);
    const scratch = (n: number) => new Float32Array(n).fill(NaN);
    const a = scale(leaf, 1);
    const b = scale(leaf, 2);
    const fresh = gradSlots([a, frozen, b], scratch);
    expect(fresh.accumulate).toBe(false);
    expect(fresh.data[0]).toBe(a.grad!.data);
    expect(fresh.data[2]).toBe(b.grad!.data);
    expect(fresh.data[1].length).toBe(3); // scratch for the input that needs no gradient
    const again = gradSlots([a], scratch); // a has a gradient now: added to
    expect(again.accumulate).toBe(true);
    expect(again.data[0]).toBe(a.grad!.data);
    const c = scale(leaf, 3);
    const same = gradSlots([c, c], scratch); // one tensor twice (swiglu(x, x)): both results add into one zeroed buffer
    expect(same.accumulate).toBe(true);
    expect(same.data[0]).toBe(same.data[1]);
    expect(Array.from(same.data[0])).toEqual([0, 0, 0, 0]);
    const onLeaf = gradSlots([leaf], scratch); // a parameter's gradient is its own array, accumulated
    expect(onLeaf.accumulate).toBe(true);
    expect(onLeaf.data[0]).toBe(leaf.grad!.data);
    leaf.grad = null;
    clearTape(); // the scale ops above were recorded and never run backward
  });

  it('refuses a buffer that is not the running gradient, and a leaf', () => {
    const leaf = randT([3], 31, true);
    expect(handGrad(leaf, new Float32Array(3))).toBe(false);
    expect(leaf.grad).toBeNull();
  });
});
