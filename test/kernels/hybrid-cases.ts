// Cross-implementation inputs for the hybrid families' kernels (causal conv1d, L2 norm, gated delta rule): odd channel
// counts, kernel sizes 1-4, packed segments, carried histories, grouped value heads, sequences over several 64-token
// chunks and a partial last chunk, decode steps. Joined into CROSS_CASES (cross-cases.ts).
import { deltaChunkCount } from '../../src/kernels/ref/delta-rule.js';
import type { CrossConfig, CrossKernel } from './cross-cases.js';
import { randn, type Rng } from './helpers.js';

/** [B*T] segment ids: runs of `len` tokens, numbered apart per row. */
export function segmentsOf(B: number, T: number, len: number): Int32Array {
  return Int32Array.from({ length: B * T }, (_, i) => Math.floor((i % T) / len) + 100 * Math.floor(i / T));
}

/** Rows of width D scaled to unit length (the delta rule's q and k are L2-normalised). */
export function unitRows(x: Float32Array, D: number): Float32Array {
  for (let n = 0; n < x.length / D; n++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += x[n * D + d] ** 2;
    for (let d = 0; d < D; d++) x[n * D + d] /= Math.sqrt(s) || 1;
  }
  return x;
}

/** Gates as Qwen3.5 makes them: g = -A softplus(a) <= 0, beta = sigmoid(b). */
export function deltaGates(rng: Rng, n: number): { g: Float32Array; beta: Float32Array } {
  const g = randn(rng, n).map((a) => -0.8 * Math.log1p(Math.exp(a)));
  const beta = randn(rng, n).map((b) => 1 / (1 + Math.exp(-2 * b)));
  return { g, beta };
}

function convConfigs(): CrossConfig[] {
  type C = [B: number, T: number, Ch: number, K: number, act: number, mode: 'plain' | 'seg' | 'state', bias: boolean];
  const specs: C[] = [[1, 1, 1, 1, 0, 'plain', false], [2, 9, 37, 4, 1, 'plain', false], [2, 9, 37, 4, 1, 'seg', true],
    [1, 5, 13, 3, 0, 'state', true], [3, 1, 64, 4, 1, 'state', false], [2, 40, 130, 3, 0, 'seg', false], [0, 4, 8, 4, 1, 'plain', false],
    [1, 2, 6, 4, 0, 'state', false]];
  return specs.map(([B, T, Ch, K, act, mode, bias], i) => ({
    label: `B${B} T${T} Ch${Ch} K${K} act${act} ${mode}${bias ? ' bias' : ''}`, seed: 7000 + i,
    run: (k, rng) => {
      const x = randn(rng, B * T * Ch);
      const w = randn(rng, Ch * K);
      const b = bias ? randn(rng, Ch) : null;
      const state = mode === 'state' ? randn(rng, B * (K - 1) * Ch) : null;
      const seg = mode === 'seg' ? segmentsOf(B, T, 4) : null;
      const out = new Float32Array(B * T * Ch);
      k.causalConv1d(out, x, w, b, state, seg, B, T, Ch, K, act);
      const dx = randn(rng, x.length);
      const dw = randn(rng, w.length);
      const db = b ? randn(rng, Ch) : null;
      k.causalConv1dBackward(dx, dw, db, randn(rng, out.length), x, w, b, seg, B, T, Ch, K, act);
      return [out, dx, dw, ...(db ? [db] : []), ...(state ? [state] : [])];
    },
  }));
}

function deltaConfigs(): CrossConfig[] {
  type C = [B: number, T: number, Hk: number, Hv: number, Dk: number, Dv: number, mode: 'plain' | 'seg' | 'state'];
  const specs: C[] = [[1, 1, 1, 1, 4, 4, 'plain'], [2, 13, 2, 4, 8, 6, 'plain'], [1, 150, 1, 2, 16, 8, 'plain'],
    [2, 100, 2, 2, 8, 12, 'seg'], [1, 70, 2, 4, 32, 16, 'state'], [2, 64, 1, 1, 5, 3, 'state'], [0, 5, 1, 1, 4, 4, 'plain']];
  return specs.map(([B, T, Hk, Hv, Dk, Dv, mode], i) => ({
    label: `B${B} T${T} H${Hk}/${Hv} Dk${Dk} Dv${Dv} ${mode}`, seed: 7100 + i,
    run: (k, rng) => {
      const q = unitRows(randn(rng, B * T * Hk * Dk), Dk);
      const kk = unitRows(randn(rng, B * T * Hk * Dk), Dk);
      const v = randn(rng, B * T * Hv * Dv);
      const { g, beta } = deltaGates(rng, B * T * Hv);
      const seg = mode === 'seg' ? segmentsOf(B, T, 37) : null;
      const state = mode === 'state' ? randn(rng, B * Hv * Dk * Dv, 0.3) : null;
      const NC = deltaChunkCount(seg, B, T);
      const out = new Float32Array(B * T * Hv * Dv);
      const cs = new Float32Array(B * Hv * NC * Dk * Dv);
      const scale = 1 / Math.sqrt(Dk);
      k.deltaRuleChunk(out, cs, state, q, kk, v, g, beta, seg, B, T, Hk, Hv, Dk, Dv, scale);
      const grads = [q, kk, v, g, beta].map((t) => randn(rng, t.length));
      const [dq, dk, dv, dg, db] = grads;
      k.deltaRuleChunkBackward(dq, dk, dv, dg, db, randn(rng, out.length), cs, q, kk, v, g, beta, seg, B, T, Hk, Hv, Dk, Dv, scale);
      return [out, cs, ...grads, ...(state ? [state] : [])];
    },
  }));
}

function recurrentConfigs(): CrossConfig[] {
  return [[1, 1, 1, 1, 4, 4], [2, 1, 2, 4, 16, 8], [1, 9, 1, 2, 128, 128], [0, 1, 1, 1, 2, 2]].map(([B, T, Hk, Hv, Dk, Dv], i) => ({
    label: `B${B} T${T} H${Hk}/${Hv} Dk${Dk} Dv${Dv}`, seed: 7200 + i,
    run: (k, rng) => {
      const q = unitRows(randn(rng, B * T * Hk * Dk), Dk);
      const kk = unitRows(randn(rng, B * T * Hk * Dk), Dk);
      const v = randn(rng, B * T * Hv * Dv);
      const { g, beta } = deltaGates(rng, B * T * Hv);
      const state = randn(rng, B * Hv * Dk * Dv, 0.3);
      const out = new Float32Array(B * T * Hv * Dv);
      k.deltaRuleRecurrent(out, state, q, kk, v, g, beta, B, T, Hk, Hv, Dk, Dv, 1 / Math.sqrt(Dk));
      return [out, state];
    },
  }));
}

function l2normConfigs(): CrossConfig[] {
  return [[0, 4], [1, 1], [7, 5], [33, 128], [4, 1003]].map(([N, D], i) => ({
    label: `[${N}, ${D}]`, seed: 7300 + i,
    run: (k, rng) => {
      const x = randn(rng, N * D, 3);
      const out = new Float32Array(N * D);
      const rnorm = new Float32Array(N);
      k.l2norm(out, rnorm, x, N, D, 1e-6);
      const dx = randn(rng, N * D);
      k.l2normBackward(dx, randn(rng, N * D), x, rnorm, N, D);
      return [out, rnorm, dx];
    },
  }));
}

export const HYBRID_CASES: Record<string, CrossKernel> = {
  causalConv1d: { tol: 2e-5, configs: convConfigs() },
  l2norm: { tol: 1e-5, configs: l2normConfigs() },
  deltaRuleChunk: { tol: 2e-4, configs: deltaConfigs() },
  deltaRuleRecurrent: { tol: 1e-5, configs: recurrentConfigs() },
};
