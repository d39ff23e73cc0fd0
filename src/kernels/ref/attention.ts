// Reference scaled dot-product attention (grouped-query, causal with offset, sliding window, packed
// segments, ALiBi, tanh soft-capping of the scores) with a flash-style contract: forward saves lse, backward
// recomputes the probabilities.
// q, out, dout, dq [B, Tq, H, D]; k, v, dk, dv [B, Tk, Hkv, D]; lse [B, H, Tq]; alibi [H]; seg [B, Tk].
import { bf16ToF32 } from './convert.js';
import type { FA } from './types.js';

/** The shape and masking parameters shared by forward and backward (and by the bf16 twin in lowp.ts). */
export interface Geometry {
  B: number; Tq: number; Tk: number; H: number; Hkv: number; D: number;
  scale: number; causal: number; window: number;
  alibi: FA | null; seg: Int32Array | null;
  /** tanh soft-cap of the scaled scores (Gemma 2); 0 = none */
  softcap: number;
}

/** Is key j visible to the query at absolute position pos (= Tk - Tq + t) of batch item b? */
function visible(g: Geometry, b: number, pos: number, j: number): boolean {
  if (g.causal !== 0 && j > pos) return false;
  if (g.window > 0 && pos - j >= g.window) return false;
  if (g.seg && g.seg[b * g.Tk + j] !== g.seg[b * g.Tk + pos]) return false;
  return true;
}

/** Scores of one (b, t, h) query against every key: s[j] = cap(scale * q.k_j) + alibi[h] * (j - pos), or
 *  -Infinity where key j is hidden, where cap(x) = softcap * tanh(x / softcap) (identity without a cap). When
 *  `dcap` is given it receives d cap / dx at each visible key. Returns how many keys are visible. */
export function scores(s: Float64Array, g: Geometry, q: FA, k: FA, b: number, t: number, h: number, dcap?: Float64Array): number {
  const { Tq, Tk, H, Hkv, D } = g;
  const pos = Tk - Tq + t;
  const kh = Math.floor(h / (H / Hkv)); // grouped-query: H / Hkv query heads share one kv head
  const qo = ((b * Tq + t) * H + h) * D;
  let count = 0;
  for (let j = 0; j < Tk; j++) {
    if (!visible(g, b, pos, j)) {
      s[j] = -Infinity;
      continue;
    }
    const ko = ((b * Tk + j) * Hkv + kh) * D;
    let dot = 0;
    for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
    let x = g.scale * dot;
    if (g.softcap > 0) {
      const th = Math.tanh(x / g.softcap);
      x = g.softcap * th;
      if (dcap) dcap[j] = 1 - th * th;
    } else if (dcap) dcap[j] = 1;
    s[j] = x + (g.alibi ? g.alibi[h] * (j - pos) : 0);
    count++;
  }
  return count;
}

/** out = softmax(scores) @ v per query head; lse = logsumexp(scores); queries with no visible key get
 *  out = 0 and lse = -Infinity. */
export function attention(out: FA, lse: FA, q: FA, k: FA, v: FA, alibi: FA | null, seg: Int32Array | null,
  B: number, Tq: number, Tk: number, H: number, Hkv: number, D: number,
  scale: number, causal: number, window: number, softcap: number): void {
  const g: Geometry = { B, Tq, Tk, H, Hkv, D, scale, causal, window, alibi, seg, softcap };
  const s = new Float64Array(Tk);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < Tq; t++) {
      for (let h = 0; h < H; h++) {
        const oo = ((b * Tq + t) * H + h) * D;
        const li = (b * H + h) * Tq + t;
        if (scores(s, g, q, k, b, t, h) === 0) {
          for (let d = 0; d < D; d++) out[oo + d] = 0;
          lse[li] = -Infinity;
          continue;
        }
        let max = -Infinity;
        for (let j = 0; j < Tk; j++) max = Math.max(max, s[j]);
        let sum = 0;
        for (let j = 0; j < Tk; j++) sum += Math.exp(s[j] - max); // hidden keys add exp(-inf) = 0
        const L = max + Math.log(sum);
        acc.fill(0);
        const kh = Math.floor(h / (H / Hkv));
        for (let j = 0; j < Tk; j++) {
          if (s[j] === -Infinity) continue;
          const p = Math.exp(s[j] - L);
          const vo = ((b * Tk + j) * Hkv + kh) * D;
          for (let d = 0; d < D; d++) acc[d] += p * v[vo + d];
        }
        for (let d = 0; d < D; d++) out[oo + d] = acc[d];
        lse[li] = L;
      }
    }
  }
}

/** With p_j = exp(s_j - lse), dp_j = dout.v_j, delta = dout.out and ds_j = p_j (dp_j - delta) cap'_j:
 *  dv_j += p_j dout; dq += scale sum_j ds_j k_j; dk_j += scale ds_j q. Accumulates into dq, dk, dv. */
export function attentionBackward(dq: FA, dk: FA, dv: FA, dout: FA, q: FA, k: FA, v: FA, out: FA, lse: FA,
  alibi: FA | null, seg: Int32Array | null,
  B: number, Tq: number, Tk: number, H: number, Hkv: number, D: number,
  scale: number, causal: number, window: number, softcap: number): void {
  const g: Geometry = { B, Tq, Tk, H, Hkv, D, scale, causal, window, alibi, seg, softcap };
  const s = new Float64Array(Tk);
  const dcap = new Float64Array(Tk);
  const dqAcc = new Float64Array(D);
  // dk and dv collect contributions from many queries: sum them in double, add once at the end
  const dkAcc = new Float64Array(B * Tk * Hkv * D);
  const dvAcc = new Float64Array(B * Tk * Hkv * D);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < Tq; t++) {
      for (let h = 0; h < H; h++) {
        const L = lse[(b * H + h) * Tq + t];
        if (L === -Infinity) continue; // saw no key: output was constant 0, no gradient flows
        scores(s, g, q, k, b, t, h, dcap);
        const qo = ((b * Tq + t) * H + h) * D;
        const kh = Math.floor(h / (H / Hkv));
        let delta = 0;
        for (let d = 0; d < D; d++) delta += dout[qo + d] * out[qo + d];
        dqAcc.fill(0);
        for (let j = 0; j < Tk; j++) {
          if (s[j] === -Infinity) continue;
          const p = Math.exp(s[j] - L);
          const ko = ((b * Tk + j) * Hkv + kh) * D;
          let dp = 0;
          for (let d = 0; d < D; d++) dp += dout[qo + d] * v[ko + d];
          const ds = p * (dp - delta) * dcap[j] * scale;
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

/** The queries of each row against its own cache, one at a time: attention() over that row alone. */
export function attentionDecodeRows(out: FA, q: FA, ks: readonly FA[], vs: readonly FA[], lens: Int32Array, tq: Int32Array,
  B: number, H: number, Hkv: number, D: number, scale: number, window: number, softcap: number): void {
  let row = 0;
  for (let b = 0; b < B; b++) {
    const [n, T] = [lens[b], tq[b]];
    if (!(T >= 1 && n >= T) || ks[b].length < n * Hkv * D || vs[b].length < n * Hkv * D) {
      throw new Error(`attentionDecodeRows: row ${b} needs 1 <= tq <= lens and ${n * Hkv * D} cached values, has tq ${T}, lens ${n}, ${ks[b].length} keys and ${vs[b].length} values`);
    }
    const span = (x: FA) => x.subarray(row * H * D, (row + T) * H * D);
    attention(span(out), new Float32Array(H * T), span(q), ks[b].subarray(0, n * Hkv * D), vs[b].subarray(0, n * Hkv * D),
      null, null, 1, T, n, H, Hkv, D, scale, 1, window, softcap);
    row += T;
  }
}

/** The first n bf16 values of x as float32 (exact). */
function widened(x: Uint16Array, n: number): Float32Array {
  const f = new Float32Array(n);
  bf16ToF32(f, x, n);
  return f;
}

/** Kernels.attentionKvBf16: k and v widened to float32, then attention(). */
export function attentionKvBf16(out: FA, lse: FA, q: FA, k: Uint16Array, v: Uint16Array, alibi: FA | null, seg: Int32Array | null,
  B: number, Tq: number, Tk: number, H: number, Hkv: number, D: number, scale: number, causal: number, window: number, softcap: number): void {
  const n = B * Tk * Hkv * D;
  if (k.length < n || v.length < n) throw new Error(`attentionKvBf16: k and v need ${n} values, have ${k.length} and ${v.length}`);
  attention(out, lse, q, widened(k, n), widened(v, n), alibi, seg, B, Tq, Tk, H, Hkv, D, scale, causal, window, softcap);
}

/** Kernels.attentionDecodeRowsBf16: the caches widened to float32, then attentionDecodeRows. */
export function attentionDecodeRowsBf16(out: FA, q: FA, ks: readonly Uint16Array[], vs: readonly Uint16Array[], lens: Int32Array,
  tq: Int32Array, B: number, H: number, Hkv: number, D: number, scale: number, window: number, softcap: number): void {
  const widen = (x: Uint16Array): Float32Array => widened(x, x.length);
  attentionDecodeRows(out, q, ks.slice(0, B).map(widen), vs.slice(0, B).map(widen), lens, tq, B, H, Hkv, D, scale, window, softcap);
}
