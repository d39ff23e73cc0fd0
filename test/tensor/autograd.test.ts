// Autograd behaviour: op-level gradients against finite differences, accumulation, no-grad mode, and
// the fused LM-head loss against the unfused one.
import { describe, expect, it } from 'vitest';
import {
  Tensor, add, attention, backward, clearTape, crossEntropy, dropout, embedding, geglu, gelu, layernorm, linear, linearCrossEntropy,
  matmul, mean, mul, narrow, noGrad, rmsnorm, rope, ropePartial, scale, silu, softcap, softmax, sum, swiglu, tapeLength, view,
  causalConv1d, l2norm, gatedDeltaRule, sigmoid, decayGate, releaseGrad,
} from '../../src/tensor/index.js';
import { chunkRows } from '../../src/tensor/ops/loss.js';
import { numGrad, randT, relErr } from './helpers.js';

/** Checks d(loss)/d(x) from the tape against central differences for each x in xs. */
function gradCheck(name: string, xs: Tensor[], loss: () => Tensor, tol = 2e-2): void {
  for (const x of xs) x.grad = null;
  backward(loss());
  for (const [i, x] of xs.entries()) {
    const analytic = x.grad!.data.slice();
    const numeric = noGrad(() => numGrad(() => loss().item(), x));
    const err = relErr(analytic, numeric);
    expect(err, `${name}: input ${i} rel err ${err}`).toBeLessThan(tol);
  }
}

/** weighted sum with fixed random weights, so every output element matters */
function proj(y: Tensor, seed = 99): Tensor {
  return sum(mul(y, randT([...y.shape], seed)));
}

describe('op gradients through the tape (float32 finite differences)', () => {
  it('matmul: every transpose combination, batched and broadcast', () => {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const a = randT(tA ? [2, 4, 3] : [2, 3, 4], 1, true);
      const b2 = randT(tB ? [5, 4] : [4, 5], 2, true);
      gradCheck(`matmul broadcast tA=${tA} tB=${tB}`, [a, b2], () => proj(matmul(a, b2, { transA: tA, transB: tB })));
      const b3 = randT(tB ? [2, 5, 4] : [2, 4, 5], 3, true);
      gradCheck(`matmul batched tA=${tA} tB=${tB}`, [a, b3], () => proj(matmul(a, b3, { transA: tA, transB: tB })));
    }
  });

  it('linear with bias on 3-D input, add/mul broadcasting, scale, view', () => {
    const x = randT([2, 3, 4], 4, true);
    const w = randT([5, 4], 5, true);
    const b = randT([5], 6, true);
    gradCheck('linear', [x, w, b], () => proj(linear(x, w, b)));
    const r = randT([4], 7, true);
    gradCheck('add/mul rows', [x, r], () => proj(mul(add(x, r), r)));
    gradCheck('scale/view', [x], () => proj(view(scale(x, 3), [6, 4])));
  });

  it('norms, activations, softmax', () => {
    const x = randT([3, 8], 8, true);
    const w = randT([8], 9, true);
    const b = randT([8], 10, true);
    gradCheck('rmsnorm', [x, w], () => proj(rmsnorm(x, w, 1e-5)));
    gradCheck('layernorm', [x, w, b], () => proj(layernorm(x, w, b, 1e-5)));
    gradCheck('silu', [x], () => proj(silu(x)));
    gradCheck('gelu erf', [x], () => proj(gelu(x, 'erf')));
    gradCheck('gelu tanh', [x], () => proj(gelu(x, 'tanh')));
    gradCheck('softmax', [x], () => proj(softmax(x)));
    const u = randT([3, 8], 11, true);
    gradCheck('swiglu', [x, u], () => proj(swiglu(x, u)));
    gradCheck('geglu tanh', [x, u], () => proj(geglu(x, u, 'tanh')));
    gradCheck('geglu erf', [x, u], () => proj(geglu(x, u, 'erf')));
    gradCheck('softcap', [x], () => proj(softcap(scale(x, 3), 2)));
  });

  it('embedding (repeated ids scatter-add), rope with offset, attention with GQA', () => {
    const table = randT([7, 4], 12, true);
    const ids = Int32Array.of(1, 3, 1, 6);
    gradCheck('embedding', [table], () => proj(embedding(table, ids, [2, 2])));
    const D = 4;
    const P = 16;
    const cos = Float32Array.from({ length: P * D / 2 }, (_, i) => Math.cos(0.3 * i));
    const sin = Float32Array.from({ length: P * D / 2 }, (_, i) => Math.sin(0.3 * i));
    const x = randT([1, 3, 2, D], 13, true);
    gradCheck('rope offset', [x], () => proj(rope(x, cos, sin, Int32Array.of(5, 6, 7))));
    const q = randT([2, 3, 4, D], 14, true);
    const k = randT([2, 5, 2, D], 15, true);
    const v = randT([2, 5, 2, D], 16, true);
    gradCheck('attention', [q, k, v], () => proj(attention(q, k, v, { window: 3 })));
    gradCheck('attention soft-capped', [q, k, v], () => proj(attention(q, k, v, { window: 3, softcap: 0.7 })));
  });

  it('partial rope (6 of 8 dims rotate), narrow slices of a fused projection', () => {
    const [D, R, P] = [8, 6, 16];
    const cos = Float32Array.from({ length: P * R / 2 }, (_, i) => Math.cos(0.3 * i));
    const sin = Float32Array.from({ length: P * R / 2 }, (_, i) => Math.sin(0.3 * i));
    const x = randT([1, 3, 2, D], 40, true);
    gradCheck('ropePartial', [x], () => proj(ropePartial(x, cos, sin, Int32Array.of(5, 6, 7), R)));
    const qkv = randT([2, 3, 10], 41, true);
    // two overlapping consumers of the same tensor: both gradients land in it
    gradCheck('narrow', [qkv], () => add(proj(narrow(qkv, 2, 0, 6), 42), proj(narrow(qkv, 2, 4, 6), 43)));
    gradCheck('narrow middle axis', [qkv], () => proj(narrow(qkv, 1, 1, 2), 44));
  });

  it('hybrid-model ops: causal conv1d, l2norm, the gated delta rule, sigmoid and the decay gate', () => {
    const x = randT([2, 5, 3], 60, true);
    const w = randT([3, 1, 4], 61, true);
    const bias = randT([3], 62, true);
    gradCheck('causalConv1d silu', [x, w, bias], () => proj(causalConv1d(x, w, { bias, act: 'silu', segments: Int32Array.of(0, 0, 1, 1, 1, 4, 4, 4, 4, 5) })));
    gradCheck('l2norm', [x], () => proj(l2norm(x, 1e-6)));
    const q = randT([1, 6, 1, 4], 63, true);
    const k = randT([1, 6, 1, 4], 64, true);
    const v = randT([1, 6, 2, 3], 65, true);
    const a = randT([1, 6, 2], 66, true);
    const b = randT([1, 6, 2], 67, true);
    const aLog = randT([2], 68, true);
    const dt = randT([2], 69, true);
    gradCheck('gatedDeltaRule', [q, k, v, a, b, aLog, dt],
      () => proj(gatedDeltaRule(l2norm(q, 1e-6), l2norm(k, 1e-6), v, decayGate(a, aLog, dt), sigmoid(b), { scale: 0.5 })));
  });

  it('cross-entropy with ignored targets, and dropout', () => {
    const logits = randT([4, 6], 17, true, 3);
    const t = Int32Array.of(2, -100, 5, 0);
    gradCheck('crossEntropy', [logits], () => crossEntropy(logits, t));
    const x = randT([4, 6], 18, true);
    gradCheck('dropout', [x], () => proj(dropout(x, 0.3, 42)));
  });
});

describe('fused LM-head cross-entropy', () => {
  it('matches linear + crossEntropy in loss and both gradients', () => {
    const h = randT([5, 8], 20, true);
    const w = randT([11, 8], 21, true);
    const t = Int32Array.of(1, -100, 10, 3, 3);
    const l1 = linearCrossEntropy(h, w, t, { normalizer: 7 });
    backward(l1);
    const [gh, gw] = [h.grad!.data.slice(), w.grad!.data.slice()];
    h.grad = null;
    w.grad = null;
    const l2 = crossEntropy(linear(h, w), t, { normalizer: 7 });
    backward(l2);
    expect(Math.abs(l1.item() - l2.item())).toBeLessThan(1e-6);
    expect(relErr(gh, h.grad!.data)).toBeLessThan(1e-5);
    expect(relErr(gw, w.grad!.data)).toBeLessThan(1e-5);
  });
});

describe('fused LM-head cross-entropy in chunks of rows', () => {
  it('shares the rows out evenly, no chunk more than 1/8 over the ~64 MB size', () => {
    expect(chunkRows(49152, 1024)).toBe(342); // 342 + 342 + 340, not 3 x 341 + 1
    expect(chunkRows(49152, 1023)).toBe(341);
    expect(chunkRows(49152, 380)).toBe(380); // one chunk of 380 (341 + 11%)
    expect(chunkRows(49152, 400)).toBe(200);
    expect(chunkRows(152064, 1000)).toBe(250); // 256-row floor: 4 chunks
    expect(chunkRows(100, 5)).toBe(5);
    expect(chunkRows(100, 0)).toBe(0);
  });

  it('gives the loss and gradients of the unfused head over two chunks', () => {
    const [N, C, V] = [300, 3, 70000]; // 16M / V < 256 rows: chunks of 256, shared out as 150 + 150
    expect(chunkRows(V, N)).toBe(150);
    const h = randT([N, C], 24, true);
    const w = randT([V, C], 25, true);
    const t = Int32Array.from({ length: N }, (_, i) => (i * 7919) % V);
    t[17] = -100;
    const l1 = linearCrossEntropy(h, w, t);
    backward(l1);
    const [gh, gw] = [h.grad!.data.slice(), w.grad!.data.slice()];
    h.grad = null;
    w.grad = null;
    const l2 = crossEntropy(linear(h, w), t);
    backward(l2);
    expect(Math.abs(l1.item() - l2.item())).toBeLessThan(1e-5);
    expect(relErr(gh, h.grad!.data)).toBeLessThan(1e-5);
    expect(relErr(gw, w.grad!.data)).toBeLessThan(1e-5);
  });
});

describe('fused LM-head cross-entropy of soft-capped logits', () => {
  it('matches softcap(linear) + crossEntropy in loss and both gradients', () => {
    const h = randT([6, 8], 22, true, 2);
    const w = randT([13, 8], 23, true, 2);
    const t = Int32Array.of(4, 12, -100, 0, 7, 7);
    const l1 = linearCrossEntropy(h, w, t, { softcap: 1.5 });
    backward(l1);
    const [gh, gw] = [h.grad!.data.slice(), w.grad!.data.slice()];
    h.grad = null;
    w.grad = null;
    const l2 = crossEntropy(softcap(linear(h, w), 1.5), t);
    backward(l2);
    expect(Math.abs(l1.item() - l2.item())).toBeLessThan(1e-6);
    expect(relErr(gh, h.grad!.data)).toBeLessThan(1e-5);
    expect(relErr(gw, w.grad!.data)).toBeLessThan(1e-5);
    // the cap changes the loss (the logits reach past it)
    expect(Math.abs(l1.item() - noGrad(() => linearCrossEntropy(h, w, t)).item())).toBeGreaterThan(1e-3);
  });
});

describe('tape mechanics', () => {
  it('accumulates leaf gradients across backward calls and frees intermediates', () => {
    const x = randT([3], 30, true);
    const y = mul(x, x);
    backward(sum(y));
    const once = x.grad!.data.slice();
    backward(sum(mul(x, x)));
    for (let i = 0; i < 3; i++) expect(x.grad!.data[i]).toBeCloseTo(2 * once[i], 5);
    expect(y.grad).toBeNull();
    expect(tapeLength()).toBe(0);
  });

  it('releaseGrad leaves no gradient, and the next backward fills the same buffer afresh', () => {
    const x = randT([4], 34, true);
    const other = randT([4], 35, true);
    backward(sum(mul(x, add(x, other))));
    const buffer = x.grad!.data;
    const first = buffer.slice();
    releaseGrad(x);
    releaseGrad(other);
    expect(x.grad).toBeNull(); // an optimizer skips it, as after zero_grad(set_to_none=True)
    expect(other.grad).toBeNull();
    backward(sum(mul(x, add(x, other))));
    expect(x.grad!.data).toBe(buffer); // no new array ...
    expect(Array.from(x.grad!.data)).toEqual(Array.from(first)); // ... and the old gradient not added to
    backward(sum(mul(x, x))); // accumulates on top, as any gradient does
    for (let i = 0; i < 4; i++) expect(x.grad!.data[i]).toBeCloseTo(first[i] + 2 * x.data[i], 5);
    releaseGrad(x);
    releaseGrad(x); // twice: still no gradient, the buffer still kept
    backward(sum(scale(x, 3)));
    expect(x.grad!.data).toBe(buffer);
    expect(Array.from(x.grad!.data)).toEqual([3, 3, 3, 3]);
  });

  it('records nothing under noGrad, and outputs do not require grad', () => {
    clearTape();
    const x = randT([3], 31, true);
    const y = noGrad(() => mean(mul(x, x)));
    expect(y.requiresGrad).toBe(false);
    expect(tapeLength()).toBe(0);
    expect(() => backward(y)).toThrow(/does not require grad/);
  });

  it('does not propagate into tensors that do not require grad', () => {
    const x = randT([2, 3], 32, true);
    const w = randT([4, 3], 33, false);
    backward(sum(linear(x, w)));
    expect(w.grad).toBeNull();
    expect(x.grad).not.toBeNull();
  });
});
