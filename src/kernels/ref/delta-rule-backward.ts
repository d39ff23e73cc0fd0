// Reference backward of the chunked gated delta rule, derived by hand from the chunk forward (delta-rule.ts) and
// run chunk by chunk in reverse from the saved chunk-start states. Per chunk, with gam = cumsum(g), e = exp(gam),
// f_i = exp(gam_last - gam_i), decay_ij = exp(gam_i - gam_j) (j <= i), M = I + strictly-lower(A * decay),
// A_ij = beta_i k_i.k_j, U = M^-1 diag(beta) V, W = M^-1 diag(beta e) K, Vn = U - W S, P = (Q K^T) * decay:
//   O = diag(e) Q S + P Vn,   S' = e_last S + K^T diag(f) Vn.
import type { FA } from './types.js';
import { chunkNewValues, chunkTerms, deltaChunkCount, deltaChunks, gatherChunk, type ChunkIn, type DeltaDims } from './delta-rule.js';

/** Gradients of one chunk with respect to its inputs (Q scaled) and its start state. */
interface ChunkGrads { dQ: Float64Array; dK: Float64Array; dV: Float64Array; dg: Float64Array; dbeta: Float64Array; dS: Float64Array }

/** X = M^-T Y for the unit lower-triangular M (back substitution), Y and X [c, n]. */
function solveUpperT(M: Float64Array, Y: Float64Array, c: number, n: number): Float64Array {
  const X = Float64Array.from(Y);
  for (let i = c - 1; i >= 0; i--) {
    for (let j = i + 1; j < c; j++) {
      const m = M[j * c + i];
      if (m !== 0) for (let d = 0; d < n; d++) X[i * n + d] -= m * X[j * n + d];
    }
  }
  return X;
}

function dotRows(X: Float64Array, i: number, Y: Float64Array, j: number, n: number): number {
  let s = 0;
  for (let d = 0; d < n; d++) s += X[i * n + d] * Y[j * n + d];
  return s;
}

/** dO [c, Dv] and dSn (gradient of the state after the chunk) [Dk, Dv] -> the chunk's gradients. */
export function chunkBackward(x: ChunkIn, S: Float64Array, dO: Float64Array, dSn: Float64Array, Dk: number, Dv: number): ChunkGrads {
  const { c, Q, K, V, beta } = x;
  const t = chunkTerms(x, Dk, Dv);
  const Vn = chunkNewValues(t, S, c, Dk, Dv);
  const eLast = t.e[c - 1];
  const f = t.gam.map((gi) => Math.exp(t.gam[c - 1] - gi));
  const dQ = new Float64Array(c * Dk);
  const dK = new Float64Array(c * Dk);
  const dgam = new Float64Array(c);
  const dDecay = new Float64Array(c * c);
  const dS = new Float64Array(Dk * Dv);
  // S' = e_last S + K^T diag(f) Vn
  const KdSn = new Float64Array(c * Dv); // K dS'
  for (let i = 0; i < c; i++) for (let a = 0; a < Dk; a++) for (let d = 0; d < Dv; d++) KdSn[i * Dv + d] += K[i * Dk + a] * dSn[a * Dv + d];
  let sdot = 0;
  for (let n = 0; n < Dk * Dv; n++) sdot += S[n] * dSn[n];
  dgam[c - 1] += eLast * sdot;
  for (let n = 0; n < Dk * Dv; n++) dS[n] += eLast * dSn[n];
  const dVn = new Float64Array(c * Dv);
  for (let i = 0; i < c; i++) {
    const df = dotRows(KdSn, i, Vn, i, Dv); // k_i . (dS' vn_i)
    dgam[c - 1] += f[i] * df;
    dgam[i] -= f[i] * df;
    for (let d = 0; d < Dv; d++) dVn[i * Dv + d] += f[i] * KdSn[i * Dv + d];
    for (let a = 0; a < Dk; a++) {
      let s = 0;
      for (let d = 0; d < Dv; d++) s += dSn[a * Dv + d] * Vn[i * Dv + d];
      dK[i * Dk + a] += f[i] * s;
    }
  }
  // O = diag(e) Q S + P Vn
  for (let i = 0; i < c; i++) {
    for (let a = 0; a < Dk; a++) {
      let s = 0;
      for (let d = 0; d < Dv; d++) s += S[a * Dv + d] * dO[i * Dv + d];
      dQ[i * Dk + a] += t.e[i] * s;
      dgam[i] += t.e[i] * Q[i * Dk + a] * s;
      for (let d = 0; d < Dv; d++) dS[a * Dv + d] += t.e[i] * Q[i * Dk + a] * dO[i * Dv + d];
    }
    for (let j = 0; j <= i; j++) {
      const qk = dotRows(Q, i, K, j, Dk);
      const dP = dotRows(dO, i, Vn, j, Dv);
      const dec = t.decay[i * c + j];
      for (let d = 0; d < Dv; d++) dVn[j * Dv + d] += qk * dec * dO[i * Dv + d];
      dDecay[i * c + j] += dP * qk;
      for (let a = 0; a < Dk; a++) {
        dQ[i * Dk + a] += dP * dec * K[j * Dk + a];
        dK[j * Dk + a] += dP * dec * Q[i * Dk + a];
      }
    }
  }
  // Vn = U - W S: dU = dVn, dW = -dVn S^T, dS -= W^T dVn
  const dW = new Float64Array(c * Dk);
  for (let i = 0; i < c; i++) {
    for (let a = 0; a < Dk; a++) {
      let s = 0;
      for (let d = 0; d < Dv; d++) s += dVn[i * Dv + d] * S[a * Dv + d];
      dW[i * Dk + a] = -s;
      for (let d = 0; d < Dv; d++) dS[a * Dv + d] -= t.W[i * Dk + a] * dVn[i * Dv + d];
    }
  }
  // U = M^-1 Yu, W = M^-1 Yw: dY = M^-T dX, dM = -dY X^T (strictly lower part only)
  const dYu = solveUpperT(t.M, dVn, c, Dv);
  const dYw = solveUpperT(t.M, dW, c, Dk);
  const dV = new Float64Array(c * Dv);
  const dbeta = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    for (let j = 0; j < i; j++) {
      const dL = -(dotRows(dYu, i, t.U, j, Dv) + dotRows(dYw, i, t.W, j, Dk));
      const dA = dL * t.decay[i * c + j];
      dDecay[i * c + j] += dL * t.A[i * c + j];
      dbeta[i] += dA * dotRows(K, i, K, j, Dk);
      for (let a = 0; a < Dk; a++) {
        dK[i * Dk + a] += beta[i] * dA * K[j * Dk + a];
        dK[j * Dk + a] += beta[i] * dA * K[i * Dk + a];
      }
    }
    for (let d = 0; d < Dv; d++) dV[i * Dv + d] = beta[i] * dYu[i * Dv + d];
    dbeta[i] += dotRows(V, i, dYu, i, Dv);
    const kdy = dotRows(K, i, dYw, i, Dk);
    dbeta[i] += t.e[i] * kdy;
    dgam[i] += beta[i] * t.e[i] * kdy;
    for (let a = 0; a < Dk; a++) dK[i * Dk + a] += beta[i] * t.e[i] * dYw[i * Dk + a];
  }
  // decay_ij = exp(gam_i - gam_j)
  for (let i = 0; i < c; i++) {
    for (let j = 0; j < i; j++) {
      const gd = t.decay[i * c + j] * dDecay[i * c + j];
      dgam[i] += gd;
      dgam[j] -= gd;
    }
  }
  // gam = cumsum(g): dg_j = sum_{i >= j} dgam_i
  const dg = new Float64Array(c);
  let run = 0;
  for (let i = c - 1; i >= 0; i--) dg[i] = run += dgam[i];
  return { dQ, dK, dV, dg, dbeta, dS };
}

/** Accumulates the gradients of deltaRuleChunk (no gradient to an initial state) into dq, dk [B, T, Hk, Dk], dv
 *  [B, T, Hv, Dv], dg, dbeta [B, T, Hv] from dout [B, T, Hv, Dv] and the chunk-start states the forward saved. */
export function deltaRuleChunkBackward(dq: FA, dk: FA, dv: FA, dg: FA, dbeta: FA, dout: FA, chunkStates: FA, q: FA, k: FA,
  v: FA, g: FA, beta: FA, seg: Int32Array | null, B: number, T: number, Hk: number, Hv: number, Dk: number, Dv: number,
  scale: number): void {
  const d: DeltaDims = { B, T, Hk, Hv, Dk, Dv, scale };
  const NC = deltaChunkCount(seg, B, T);
  const SZ = Dk * Dv;
  for (let b = 0; b < B; b++) {
    const chunks = deltaChunks(seg, b, T);
    for (let h = 0; h < Hv; h++) {
      const hk = Math.floor(h / (Hv / Hk));
      let dSn: Float64Array = new Float64Array(SZ);
      for (let n = chunks.length - 1; n >= 0; n--) {
        const [t0, c, first] = chunks[n];
        const off = ((b * Hv + h) * NC + n) * SZ;
        const S = Float64Array.from(chunkStates.subarray(off, off + SZ));
        const dO = new Float64Array(c * Dv);
        for (let i = 0; i < c; i++) for (let e = 0; e < Dv; e++) dO[i * Dv + e] = dout[((b * T + t0 + i) * Hv + h) * Dv + e];
        const gr = chunkBackward(gatherChunk(q, k, v, g, beta, d, b, h, t0, c), S, dO, dSn, Dk, Dv);
        for (let i = 0; i < c; i++) {
          const row = b * T + t0 + i;
          for (let a = 0; a < Dk; a++) {
            dq[(row * Hk + hk) * Dk + a] += gr.dQ[i * Dk + a] * scale;
            dk[(row * Hk + hk) * Dk + a] += gr.dK[i * Dk + a];
          }
          for (let e = 0; e < Dv; e++) dv[(row * Hv + h) * Dv + e] += gr.dV[i * Dv + e];
          dg[row * Hv + h] += gr.dg[i];
          dbeta[row * Hv + h] += gr.dbeta[i];
        }
        dSn = first ? new Float64Array(SZ) : gr.dS; // a chunk that starts its segment started from zeros
      }
    }
  }
}
