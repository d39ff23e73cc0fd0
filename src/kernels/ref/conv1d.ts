// Reference causal depthwise conv1d over the token axis (Qwen3.5's conv over q/k/v before the delta rule, LFM2's
// short convolution), with an optional fused SiLU, a carried history for incremental decoding, and packed segments;
// and the L2 normalisation of rows (Qwen3.5's q/k before the delta rule). Backward passes accumulate.
// x, out, dout, dx [B, T, Ch] (channels last); w, dw [Ch, K]; bias, dbias [Ch]; state [B, K-1, Ch].
import type { FA } from './types.js';

/** Where each token's segment starts (0 for every token when seg is null), per row: [B*T]. */
export function segmentStarts(seg: Int32Array | null, B: number, T: number): Int32Array {
  const out = new Int32Array(B * T);
  if (!seg) return out;
  for (let b = 0; b < B; b++) {
    for (let t = 1; t < T; t++) out[b * T + t] = seg[b * T + t] === seg[b * T + t - 1] ? out[b * T + t - 1] : t;
  }
  return out;
}

function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** The convolution before the activation at (b, t, ch): bias + sum_j w[ch, j] x[b, t - (K-1) + j, ch], where inputs
 *  before the token's segment start are 0, or (with a state and no segments) the history state[b, K-1 + s, ch]. */
function preActivation(x: FA, w: FA, bias: FA | null, state: FA | null, starts: Int32Array, b: number, t: number,
  ch: number, T: number, Ch: number, K: number): number {
  let s = bias ? bias[ch] : 0;
  for (let j = 0; j < K; j++) {
    const src = t - (K - 1) + j;
    if (src >= starts[b * T + t]) s += w[ch * K + j] * x[(b * T + src) * Ch + ch];
    else if (state && src < 0) s += w[ch * K + j] * state[(b * (K - 1) + K - 1 + src) * Ch + ch];
  }
  return s;
}

/** out = act(conv(x)) with act 0 = identity, 1 = SiLU. A state (ignored when seg is given) holds the K-1 inputs
 *  before position 0 and is left holding the last K-1 inputs, so a decode step is T = 1 with the state. */
export function causalConv1d(out: FA, x: FA, w: FA, bias: FA | null, state: FA | null, seg: Int32Array | null, B: number,
  T: number, Ch: number, K: number, act: number): void {
  const hist = seg ? null : state;
  const starts = segmentStarts(seg, B, T);
  const tmp = new Float64Array(B * T * Ch);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let ch = 0; ch < Ch; ch++) {
        const p = preActivation(x, w, bias, hist, starts, b, t, ch, T, Ch, K);
        tmp[(b * T + t) * Ch + ch] = act === 1 ? silu(p) : p;
      }
    }
  }
  if (hist) {
    for (let b = 0; b < B; b++) {
      // the combined sequence [history (K-1), x (T)]: keep its last K-1 entries
      const next = new Float64Array((K - 1) * Ch);
      for (let i = 0; i < K - 1; i++) {
        const src = T + i - (K - 1); // index into x; negative reads the old history
        for (let ch = 0; ch < Ch; ch++) {
          next[i * Ch + ch] = src >= 0 ? x[(b * T + src) * Ch + ch] : hist[(b * (K - 1) + K - 1 + src) * Ch + ch];
        }
      }
      hist.set(next, b * (K - 1) * Ch);
    }
  }
  out.set(tmp);
}

/** dx += d out / d x, dw += d out / d w, dbias += d out / d bias (dw, dbias may be null: frozen). The forward
 *  before the activation is recomputed from x. No history: training runs from position 0. */
export function causalConv1dBackward(dx: FA, dw: FA | null, dbias: FA | null, dout: FA, x: FA, w: FA, bias: FA | null,
  seg: Int32Array | null, B: number, T: number, Ch: number, K: number, act: number): void {
  const starts = segmentStarts(seg, B, T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let ch = 0; ch < Ch; ch++) {
        const n = (b * T + t) * Ch + ch;
        let dp = dout[n];
        if (act === 1) {
          const p = preActivation(x, w, bias, null, starts, b, t, ch, T, Ch, K);
          const sg = 1 / (1 + Math.exp(-p));
          dp *= sg * (1 + p * (1 - sg));
        }
        if (dbias) dbias[ch] += dp;
        for (let j = 0; j < K; j++) {
          const src = t - (K - 1) + j;
          if (src < starts[b * T + t]) continue;
          dx[(b * T + src) * Ch + ch] += w[ch * K + j] * dp;
          if (dw) dw[ch * K + j] += x[(b * T + src) * Ch + ch] * dp;
        }
      }
    }
  }
}

/** out = x / sqrt(sum(x^2) + eps) over rows of width D (the FLA convention transformers follows); rnorm [N] saved. */
export function l2norm(out: FA, rnorm: FA, x: FA, N: number, D: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    let ss = 0;
    for (let d = 0; d < D; d++) ss += x[n * D + d] * x[n * D + d];
    const r = 1 / Math.sqrt(ss + eps);
    rnorm[n] = r;
    for (let d = 0; d < D; d++) out[n * D + d] = x[n * D + d] * r;
  }
}

/** dx += r dout - x r^3 (x . dout) */
export function l2normBackward(dx: FA, dout: FA, x: FA, rnorm: FA, N: number, D: number): void {
  for (let n = 0; n < N; n++) {
    const r = rnorm[n];
    let dot = 0;
    for (let d = 0; d < D; d++) dot += x[n * D + d] * dout[n * D + d];
    for (let d = 0; d < D; d++) dx[n * D + d] += r * dout[n * D + d] - x[n * D + d] * r * r * r * dot;
  }
}
