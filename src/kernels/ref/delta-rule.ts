// Reference gated delta rule (Gated DeltaNet, Qwen3.5's linear attention): the recurrent form one token at a time
// and the chunked form (chunks of 64, the UT/WY representation) that training runs, in plain loops.
// q, k [B, T, Hk, Dk] (already L2-normalised), v, out [B, T, Hv, Dv], g (log decay), beta [B, T, Hv], state
// [B, Hv, Dk, Dv]; value head h reads query/key head floor(h / (Hv / Hk)). Reference: transformers'
// torch_recurrent_gated_delta_rule / torch_chunk_gated_delta_rule (modeling_qwen3_5.py).
import type { FA } from './types.js';

export const DELTA_CHUNK = 64;

/** The chunks of row b: every run of equal segment ids (the whole row when seg is null) cut into pieces of at most
 *  `size` tokens, as [start, length, first of its segment]. */
export function deltaChunks(seg: Int32Array | null, b: number, T: number, size = DELTA_CHUNK): [number, number, boolean][] {
  const out: [number, number, boolean][] = [];
  let start = 0;
  while (start < T) {
    let end = start + 1;
    if (seg) while (end < T && seg[b * T + end] === seg[b * T + start]) end++;
    else end = T;
    for (let s = start; s < end; s += size) out.push([s, Math.min(size, end - s), s === start]);
    start = end;
  }
  return out;
}

/** Most chunks any row has: the second dimension of the saved chunk states. */
export function deltaChunkCount(seg: Int32Array | null, B: number, T: number): number {
  let n = 0;
  for (let b = 0; b < B; b++) n = Math.max(n, deltaChunks(seg, b, T).length);
  return n;
}

/** Shapes of one call, shared by the kernels. */
export interface DeltaDims { B: number; T: number; Hk: number; Hv: number; Dk: number; Dv: number; scale: number }

/** Recurrent form, token by token: S = exp(g) S; S += k (beta (v - S^T k))^T; out = S^T (scale q). The state is
 *  read and left updated (a decode step is T = 1). */
export function deltaRuleRecurrent(out: FA, state: FA, q: FA, k: FA, v: FA, g: FA, beta: FA, B: number, T: number,
  Hk: number, Hv: number, Dk: number, Dv: number, scale: number): void {
  const group = Hv / Hk;
  const kv = new Float64Array(Dv);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hv; h++) {
      const S = (b * Hv + h) * Dk * Dv;
      for (let t = 0; t < T; t++) {
        const row = b * T + t;
        const qk = (row * Hk + Math.floor(h / group)) * Dk;
        const vo = (row * Hv + h) * Dv;
        const decay = Math.exp(g[row * Hv + h]);
        for (let i = 0; i < Dk * Dv; i++) state[S + i] *= decay;
        kv.fill(0);
        for (let a = 0; a < Dk; a++) for (let c = 0; c < Dv; c++) kv[c] += state[S + a * Dv + c] * k[qk + a];
        const bt = beta[row * Hv + h];
        for (let a = 0; a < Dk; a++) {
          for (let c = 0; c < Dv; c++) state[S + a * Dv + c] += k[qk + a] * (v[vo + c] - kv[c]) * bt;
        }
        for (let c = 0; c < Dv; c++) {
          let s = 0;
          for (let a = 0; a < Dk; a++) s += state[S + a * Dv + c] * q[qk + a] * scale;
          out[vo + c] = s;
        }
      }
    }
  }
}

/** One chunk of one head, gathered: Q (scaled), K [c, Dk], V [c, Dv], g, beta [c]. */
export interface ChunkIn { c: number; Q: Float64Array; K: Float64Array; V: Float64Array; g: Float64Array; beta: Float64Array }

/** What the chunk's forward derives from its inputs (also what its backward recomputes). */
export interface ChunkTerms {
  gam: Float64Array; // [c] cumulative log decay
  e: Float64Array; // [c] exp(gam)
  decay: Float64Array; // [c, c] exp(gam_i - gam_j) for j <= i, else 0
  A: Float64Array; // [c, c] beta_i k_i . k_j
  M: Float64Array; // [c, c] I + strictly-lower(A * decay)
  U: Float64Array; // [c, Dv] M^-1 diag(beta) V
  W: Float64Array; // [c, Dk] M^-1 diag(beta e) K
}

/** Forward substitution with the unit lower-triangular M: X = M^-1 Y, Y and X [c, n]. */
export function solveLower(M: Float64Array, Y: Float64Array, c: number, n: number): Float64Array {
  const X = Float64Array.from(Y);
  for (let i = 0; i < c; i++) {
    for (let j = 0; j < i; j++) {
      const m = M[i * c + j];
      if (m !== 0) for (let d = 0; d < n; d++) X[i * n + d] -= m * X[j * n + d];
    }
  }
  return X;
}

export function chunkTerms(x: ChunkIn, Dk: number, Dv: number): ChunkTerms {
  const { c, K, V, g, beta } = x;
  const gam = new Float64Array(c);
  for (let i = 0; i < c; i++) gam[i] = (i ? gam[i - 1] : 0) + g[i];
  const e = gam.map(Math.exp);
  const decay = new Float64Array(c * c);
  const A = new Float64Array(c * c);
  const M = new Float64Array(c * c);
  for (let i = 0; i < c; i++) {
    for (let j = 0; j <= i; j++) {
      decay[i * c + j] = Math.exp(gam[i] - gam[j]);
      let dot = 0;
      for (let a = 0; a < Dk; a++) dot += K[i * Dk + a] * K[j * Dk + a];
      A[i * c + j] = beta[i] * dot;
      M[i * c + j] = i === j ? 1 : A[i * c + j] * decay[i * c + j];
    }
  }
  const bv = Float64Array.from({ length: c * Dv }, (_, n) => beta[Math.floor(n / Dv)] * V[n]);
  const bk = Float64Array.from({ length: c * Dk }, (_, n) => beta[Math.floor(n / Dk)] * e[Math.floor(n / Dk)] * K[n]);
  return { gam, e, decay, A, M, U: solveLower(M, bv, c, Dv), W: solveLower(M, bk, c, Dk) };
}

/** new values Vn = U - W S [c, Dv] */
export function chunkNewValues(t: ChunkTerms, S: Float64Array, c: number, Dk: number, Dv: number): Float64Array {
  const Vn = Float64Array.from(t.U);
  for (let i = 0; i < c; i++) {
    for (let a = 0; a < Dk; a++) {
      const w = t.W[i * Dk + a];
      for (let d = 0; d < Dv; d++) Vn[i * Dv + d] -= w * S[a * Dv + d];
    }
  }
  return Vn;
}

/** One chunk: out_i = e_i S^T q_i + sum_{j<=i} decay_ij (q_i . k_j) Vn_j, and S advanced past the chunk:
 *  S = e_last S + sum_i exp(gam_last - gam_i) k_i Vn_i^T (in place). Returns out [c, Dv]. */
export function chunkForward(x: ChunkIn, S: Float64Array, Dk: number, Dv: number): Float64Array {
  const { c, Q, K } = x;
  const t = chunkTerms(x, Dk, Dv);
  const Vn = chunkNewValues(t, S, c, Dk, Dv);
  const O = new Float64Array(c * Dv);
  for (let i = 0; i < c; i++) {
    for (let a = 0; a < Dk; a++) {
      const qa = t.e[i] * Q[i * Dk + a];
      for (let d = 0; d < Dv; d++) O[i * Dv + d] += qa * S[a * Dv + d];
    }
    for (let j = 0; j <= i; j++) {
      let dot = 0;
      for (let a = 0; a < Dk; a++) dot += Q[i * Dk + a] * K[j * Dk + a];
      const p = dot * t.decay[i * c + j];
      for (let d = 0; d < Dv; d++) O[i * Dv + d] += p * Vn[j * Dv + d];
    }
  }
  const last = t.gam[c - 1];
  for (let n = 0; n < Dk * Dv; n++) S[n] *= t.e[c - 1];
  for (let i = 0; i < c; i++) {
    const f = Math.exp(last - t.gam[i]);
    for (let a = 0; a < Dk; a++) {
      const kf = f * K[i * Dk + a];
      for (let d = 0; d < Dv; d++) S[a * Dv + d] += kf * Vn[i * Dv + d];
    }
  }
  return O;
}

/** Gathers chunk [t0, t0 + c) of value head h in row b. */
export function gatherChunk(q: FA, k: FA, v: FA, g: FA, beta: FA, d: DeltaDims, b: number, h: number, t0: number, c: number): ChunkIn {
  const { T, Hk, Hv, Dk, Dv, scale } = d;
  const hk = Math.floor(h / (Hv / Hk));
  const x: ChunkIn = {
    c, Q: new Float64Array(c * Dk), K: new Float64Array(c * Dk), V: new Float64Array(c * Dv), g: new Float64Array(c), beta: new Float64Array(c),
  };
  for (let i = 0; i < c; i++) {
    const row = b * T + t0 + i;
    for (let a = 0; a < Dk; a++) {
      x.Q[i * Dk + a] = q[(row * Hk + hk) * Dk + a] * scale;
      x.K[i * Dk + a] = k[(row * Hk + hk) * Dk + a];
    }
    for (let e = 0; e < Dv; e++) x.V[i * Dv + e] = v[(row * Hv + h) * Dv + e];
    x.g[i] = g[row * Hv + h];
    x.beta[i] = beta[row * Hv + h];
  }
  return x;
}

/** Chunked form over every row and value head. state (or null: zeros) is the state before position 0 and is left
 *  as the state after the last position; a new segment starts from zeros. chunkStates [B, Hv, NC, Dk, Dv] (or
 *  null) receives the state at the start of each chunk, NC = deltaChunkCount(seg, B, T), for the backward. */
export function deltaRuleChunk(out: FA, chunkStates: FA | null, state: FA | null, q: FA, k: FA, v: FA, g: FA, beta: FA,
  seg: Int32Array | null, B: number, T: number, Hk: number, Hv: number, Dk: number, Dv: number, scale: number): void {
  const d: DeltaDims = { B, T, Hk, Hv, Dk, Dv, scale };
  const NC = chunkStates ? deltaChunkCount(seg, B, T) : 0;
  const SZ = Dk * Dv;
  for (let b = 0; b < B; b++) {
    const chunks = deltaChunks(seg, b, T);
    for (let h = 0; h < Hv; h++) {
      const base = (b * Hv + h) * SZ;
      let S = state ? Float64Array.from(state.subarray(base, base + SZ)) : new Float64Array(SZ);
      chunks.forEach(([t0, c, first], n) => {
        if (first && t0 > 0) S = new Float64Array(SZ);
        if (chunkStates) chunkStates.set(S, ((b * Hv + h) * NC + n) * SZ);
        const O = chunkForward(gatherChunk(q, k, v, g, beta, d, b, h, t0, c), S, Dk, Dv);
        for (let i = 0; i < c; i++) out.set(O.subarray(i * Dv, (i + 1) * Dv), ((b * T + t0 + i) * Hv + h) * Dv);
      });
      if (state) state.set(S, base);
    }
  }
}
