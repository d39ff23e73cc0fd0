// Reference bidirectional attention for encoders (BERT, RoBERTa, ModernBERT): every query sees every key that is
// a real token (keyMask) and, on ModernBERT's local layers, lies within `window` positions on either side. Flash
// contract as attention.ts: forward saves lse, backward recomputes the probabilities.
// q, k, v, out, dout, dq, dk, dv [B, T, H, D]; lse [B, H, T]; keyMask [B, T] (0 = padding) or null.
import type { FA } from './types.js';

interface Geometry {
  B: number; T: number; H: number; D: number;
  scale: number;
  /** half-width of the local window (|i - j| <= window), or < 0 for none */
  window: number;
  keyMask: Int32Array | null;
}

function visible(g: Geometry, b: number, i: number, j: number): boolean {
  if (g.keyMask && g.keyMask[b * g.T + j] === 0) return false;
  return g.window < 0 || Math.abs(i - j) <= g.window;
}

/** Scores of query (b, i, h) against every key, -Infinity where hidden; returns the count of visible keys. */
function scores(s: Float64Array, g: Geometry, q: FA, k: FA, b: number, i: number, h: number): number {
  const { T, H, D } = g;
  const qo = ((b * T + i) * H + h) * D;
  let count = 0;
  for (let j = 0; j < T; j++) {
    if (!visible(g, b, i, j)) {
      s[j] = -Infinity;
      continue;
    }
    const ko = ((b * T + j) * H + h) * D;
    let dot = 0;
    for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
    s[j] = g.scale * dot;
    count++;
  }
  return count;
}

/** out = softmax(scores) @ v per head; lse = logsumexp(scores). A query that sees no key (a padded query whose
 *  window holds only padding, or a row of padding alone) gets the mean of v over all T keys and lse = -Infinity:
 *  transformers masks with the dtype's minimum added to the scores, which makes such a row uniform. */
export function encoderAttention(out: FA, lse: FA, q: FA, k: FA, v: FA, keyMask: Int32Array | null,
  B: number, T: number, H: number, D: number, scale: number, window: number): void {
  const g: Geometry = { B, T, H, D, scale, window, keyMask };
  const s = new Float64Array(T);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      for (let h = 0; h < H; h++) {
        const oo = ((b * T + i) * H + h) * D;
        const li = (b * H + h) * T + i;
        const seen = scores(s, g, q, k, b, i, h);
        acc.fill(0);
        if (seen === 0) {
          for (let j = 0; j < T; j++) for (let d = 0; d < D; d++) acc[d] += v[((b * T + j) * H + h) * D + d] / T;
          for (let d = 0; d < D; d++) out[oo + d] = acc[d];
          lse[li] = -Infinity;
          continue;
        }
        let max = -Infinity;
        for (let j = 0; j < T; j++) max = Math.max(max, s[j]);
        let sum = 0;
        for (let j = 0; j < T; j++) sum += Math.exp(s[j] - max);
        const L = max + Math.log(sum);
        for (let j = 0; j < T; j++) {
          if (s[j] === -Infinity) continue;
          const p = Math.exp(s[j] - L);
          const vo = ((b * T + j) * H + h) * D;
          for (let d = 0; d < D; d++) acc[d] += p * v[vo + d];
        }
        for (let d = 0; d < D; d++) out[oo + d] = acc[d];
        lse[li] = L;
      }
    }
  }
}

/** With p_j = exp(s_j - lse), delta = dout . out and ds_j = p_j (dout . v_j - delta): dv_j += p_j dout,
 *  dq += scale sum_j ds_j k_j, dk_j += scale ds_j q. A query that saw no key passes dout / T to every v.
 *  Accumulates into dq, dk, dv. */
export function encoderAttentionBackward(dq: FA, dk: FA, dv: FA, dout: FA, q: FA, k: FA, v: FA, out: FA, lse: FA,
  keyMask: Int32Array | null, B: number, T: number, H: number, D: number, scale: number, window: number): void {
  const g: Geometry = { B, T, H, D, scale, window, keyMask };
  const s = new Float64Array(T);
  const dqAcc = new Float64Array(D);
  const dkAcc = new Float64Array(B * T * H * D);
  const dvAcc = new Float64Array(B * T * H * D);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      for (let h = 0; h < H; h++) {
        const qo = ((b * T + i) * H + h) * D;
        const L = lse[(b * H + h) * T + i];
        if (L === -Infinity) {
          for (let j = 0; j < T; j++) for (let d = 0; d < D; d++) dvAcc[((b * T + j) * H + h) * D + d] += dout[qo + d] / T;
          continue;
        }
        scores(s, g, q, k, b, i, h);
        let delta = 0;
        for (let d = 0; d < D; d++) delta += dout[qo + d] * out[qo + d];
        dqAcc.fill(0);
        for (let j = 0; j < T; j++) {
          if (s[j] === -Infinity) continue;
          const p = Math.exp(s[j] - L);
          const ko = ((b * T + j) * H + h) * D;
          let dp = 0;
          for (let d = 0; d < D; d++) dp += dout[qo + d] * v[ko + d];
          const ds = p * (dp - delta) * scale;
          for (let d = 0; d < D; d++) {
            dvAcc[ko + d] += p * dout[qo + d];
            dqAcc[d] += ds * k[ko + d];
            dkAcc[ko + d] += ds * q[qo + d];
          }
        }
        for (let d = 0; d < D; d++) dq[qo + d] += dqAcc[d];
      }
    }
  }
  for (let i = 0; i < dkAcc.length; i++) {
    dk[i] += dkAcc[i];
    dv[i] += dvAcc[i];
  }
}
