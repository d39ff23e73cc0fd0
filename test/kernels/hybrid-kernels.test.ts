// The hybrid families' kernels on every available implementation against naive formulas: causal depthwise conv1d
// (segments, history, decode steps equal one pass), L2 norm, and the gated delta rule, whose chunked form must equal
// the recurrent form token by token and in one pass (several chunks, a partial last chunk, grouped value heads, an
// initial state, packed segments equal to separate sequences).
import { describe, expect, it } from 'vitest';
import { nativeStatus, referenceKernels } from '../../src/kernels/index.js';
import { nativeBenchHooks } from '../../src/kernels/native.js';
import type { Kernels } from '../../src/kernels/types.js';
import { maxRelErr, randn, Rng } from './helpers.js';
import { deltaGates, segmentsOf, unitRows } from './hybrid-cases.js';

const native = nativeStatus().kernels;
const impls: Kernels[] = native ? [referenceKernels, native] : [referenceKernels];

function close(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  const err = maxRelErr(got, want, 1);
  expect(err, `${what} error ${err}`).toBeLessThanOrEqual(tol);
}

/** out[b,t,c] = act(bias + sum_j w[c,j] x[b, t-(K-1)+j, c]) with zeros before each segment's start */
function naiveConv(x: Float32Array, w: Float32Array, bias: Float32Array | null, seg: Int32Array | null, B: number, T: number,
  Ch: number, K: number, act: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < Ch; c++) {
        let s = bias ? bias[c] : 0;
        for (let j = 0; j < K; j++) {
          const src = t - (K - 1) + j;
          let inside = src >= 0;
          for (let u = src + 1; inside && seg && u <= t; u++) inside = seg[b * T + u] === seg[b * T + u - 1];
          if (inside) s += w[c * K + j] * x[(b * T + src) * Ch + c];
        }
        out.push(act === 1 ? s / (1 + Math.exp(-s)) : s);
      }
    }
  }
  return out;
}

interface DeltaCase { B: number; T: number; Hk: number; Hv: number; Dk: number; Dv: number }

function deltaInputs(c: DeltaCase, seed: number) {
  const rng = new Rng(seed);
  const { B, T, Hk, Hv, Dk, Dv } = c;
  const q = unitRows(randn(rng, B * T * Hk * Dk), Dk);
  const k = unitRows(randn(rng, B * T * Hk * Dk), Dk);
  const v = randn(rng, B * T * Hv * Dv);
  return { q, k, v, ...deltaGates(rng, B * T * Hv), state: randn(rng, B * Hv * Dk * Dv, 0.3), scale: 1 / Math.sqrt(Dk) };
}

/** Token t of a [B, T, H, D] tensor as [B, 1, H, D]. */
function token(x: Float32Array, B: number, T: number, width: number, t: number): Float32Array {
  const out = new Float32Array(B * width);
  for (let b = 0; b < B; b++) out.set(x.subarray((b * T + t) * width, (b * T + t + 1) * width), b * width);
  return out;
}

describe.each(impls.map((k) => ({ name: k.name, k })))('$name hybrid kernels', ({ k }) => {
  it('causalConv1d matches the formula (segments, bias, SiLU); decode steps with the history equal one pass', () => {
    const rng = new Rng(31);
    for (const [B, T, Ch, K, act, useSeg] of [[2, 11, 7, 4, 1, true], [1, 6, 5, 3, 0, false], [2, 5, 3, 1, 1, true]] as const) {
      const x = randn(rng, B * T * Ch);
      const w = randn(rng, Ch * K);
      const bias = act === 0 ? randn(rng, Ch) : null;
      const seg = useSeg ? segmentsOf(B, T, 3) : null;
      const out = new Float32Array(B * T * Ch);
      k.causalConv1d(out, x, w, bias, null, seg, B, T, Ch, K, act);
      close(out, naiveConv(x, w, bias, seg, B, T, Ch, K, act), 1e-5, `conv B${B} T${T} K${K}`);
      // the same sequence as a prefill of 2 tokens and then one token at a time through the history state
      const state = new Float32Array(B * (K - 1) * Ch);
      const stepped = new Float32Array(B * T * Ch);
      const pre = new Float32Array(B * 2 * Ch);
      const xs = new Float32Array(B * 2 * Ch);
      for (let b = 0; b < B; b++) xs.set(x.subarray(b * T * Ch, (b * T + 2) * Ch), b * 2 * Ch);
      k.causalConv1d(pre, xs, w, bias, state, null, B, 2, Ch, K, act);
      for (let b = 0; b < B; b++) stepped.set(pre.subarray(b * 2 * Ch, (b + 1) * 2 * Ch), b * T * Ch);
      for (let t = 2; t < T; t++) {
        const o = new Float32Array(B * Ch);
        k.causalConv1d(o, token(x, B, T, Ch, t), w, bias, state, null, B, 1, Ch, K, act);
        for (let b = 0; b < B; b++) stepped.set(o.subarray(b * Ch, (b + 1) * Ch), (b * T + t) * Ch);
      }
      close(stepped, naiveConv(x, w, bias, null, B, T, Ch, K, act), 1e-5, `conv steps B${B} T${T} K${K}`);
    }
  });

  it('l2norm divides each row by sqrt(sum of squares + eps)', () => {
    const rng = new Rng(32);
    const [N, D] = [6, 9];
    const x = randn(rng, N * D, 2);
    const out = new Float32Array(N * D);
    const rnorm = new Float32Array(N);
    k.l2norm(out, rnorm, x, N, D, 1e-6);
    const want = Array.from(x, (v, i) => {
      let s = 0;
      for (let d = 0; d < D; d++) s += x[Math.floor(i / D) * D + d] ** 2;
      return v / Math.sqrt(s + 1e-6);
    });
    close(out, want, 1e-6, 'l2norm');
  });

  it.each<DeltaCase>([
    { B: 1, T: 150, Hk: 1, Hv: 1, Dk: 16, Dv: 8 }, { B: 2, T: 70, Hk: 2, Hv: 4, Dk: 8, Dv: 12 }, { B: 1, T: 64, Hk: 1, Hv: 2, Dk: 32, Dv: 32 },
  ])('delta rule: chunked = recurrent in one pass = decode steps (B$B T$T H$Hk/$Hv)', (c) => {
    const { B, T, Hk, Hv, Dk, Dv } = c;
    const x = deltaInputs(c, 33 + T);
    const chunkState = Float32Array.from(x.state);
    const chunked = new Float32Array(B * T * Hv * Dv);
    k.deltaRuleChunk(chunked, null, chunkState, x.q, x.k, x.v, x.g, x.beta, null, B, T, Hk, Hv, Dk, Dv, x.scale);
    const recState = Float32Array.from(x.state);
    const recurrent = new Float32Array(B * T * Hv * Dv);
    k.deltaRuleRecurrent(recurrent, recState, x.q, x.k, x.v, x.g, x.beta, B, T, Hk, Hv, Dk, Dv, x.scale);
    close(chunked, recurrent, 2e-5, 'chunked vs recurrent output');
    close(chunkState, recState, 2e-5, 'chunked vs recurrent final state');
    const stepState = Float32Array.from(x.state);
    const stepped = new Float32Array(B * T * Hv * Dv);
    for (let t = 0; t < T; t++) {
      const o = new Float32Array(B * Hv * Dv);
      const tok = (a: Float32Array, w: number) => token(a, B, T, w, t);
      k.deltaRuleRecurrent(o, stepState, tok(x.q, Hk * Dk), tok(x.k, Hk * Dk), tok(x.v, Hv * Dv), tok(x.g, Hv), tok(x.beta, Hv),
        B, 1, Hk, Hv, Dk, Dv, x.scale);
      for (let b = 0; b < B; b++) stepped.set(o.subarray(b * Hv * Dv, (b + 1) * Hv * Dv), (b * T + t) * Hv * Dv);
    }
    close(stepped, chunked, 2e-5, 'decode steps vs chunked');
  });

  it('delta rule: packed segments equal the segments run as separate sequences from zeros', () => {
    const c = { B: 1, T: 90, Hk: 1, Hv: 2, Dk: 8, Dv: 4 };
    const { T, Hv, Dv } = c;
    const x = deltaInputs(c, 40);
    const seg = Int32Array.from({ length: T }, (_, t) => (t < 20 ? 3 : t < 85 ? 4 : 9));
    const packed = new Float32Array(T * Hv * Dv);
    k.deltaRuleChunk(packed, null, null, x.q, x.k, x.v, x.g, x.beta, seg, 1, T, 1, Hv, 8, Dv, x.scale);
    for (const [s, e] of [[0, 20], [20, 85], [85, 90]]) {
      const part = (a: Float32Array, w: number) => a.subarray(s * w, e * w);
      const alone = new Float32Array((e - s) * Hv * Dv);
      k.deltaRuleChunk(alone, null, null, part(x.q, 8), part(x.k, 8), part(x.v, Hv * Dv), part(x.g, Hv), part(x.beta, Hv), null,
        1, e - s, 1, Hv, 8, Dv, x.scale);
      close(packed.subarray(s * Hv * Dv, e * Hv * Dv), alone, 1e-6, `segment [${s}, ${e})`);
    }
  });
});

describe.skipIf(!native || !nativeBenchHooks())('native conv1d backward', () => {
  it('sums the weight and bias gradients in fixed blocks of rows: the same bits on 1, 2, 8 and 32 threads', () => {
    const hooks = nativeBenchHooks()!;
    const before = hooks.info().threads;
    const rng = new Rng(77);
    const [B, T, Ch, K] = [3, 300, 40, 4]; // 900 rows: 15 blocks of 64, the last one short
    const x = randn(rng, B * T * Ch);
    const w = randn(rng, Ch * K);
    const bias = randn(rng, Ch);
    const dout = randn(rng, B * T * Ch);
    const seg = Int32Array.from({ length: B * T }, (_, i) => ((i % T) < 170 ? 0 : 1));
    const run = (threads: number): number[][] => {
      hooks.setThreads(threads);
      const [dx, dw, db] = [new Float32Array(x.length), new Float32Array(w.length), new Float32Array(Ch)];
      native!.causalConv1dBackward(dx, dw, db, dout, x, w, bias, seg, B, T, Ch, K, 1);
      return [dx, dw, db].map((a) => Array.from(new Uint32Array(a.buffer)));
    };
    try {
      const one = run(1);
      for (const threads of [2, 8, 32]) run(threads).forEach((g, i) => expect(g, `${threads} threads, output ${i}`).toEqual(one[i]));
    } finally {
      hooks.setThreads(before);
    }
  });
});
