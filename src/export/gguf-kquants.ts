// The 256-wide K-quant super-blocks Q4_K, Q5_K and Q6_K, computed as ggml's reference quantizers do without an
// importance matrix (quantize_row_q{4,5,6}_K_ref, what llama-quantize runs): every step in
// float32 (Math.fround after each operation, in the C evaluation order), rounding with nearest_int's
// ties-to-even, so the bytes equal llama.cpp's for the same float32 input.
import { fp16Bits, fp16Value } from './gguf-half.js';

const f = Math.fround;
const QK = 256;
const EPS = f(1e-15); // GROUP_MAX_EPS
const TENTH = f(0.1);

/** ggml's nearest_int: round to nearest, ties to even (the float32 magic-number trick). */
function nearestInt(v: number): number {
  return f(v + 12582912) - 12582912;
}

/** Scratch buffers reused across blocks (one quantization runs at a time per thread). */
const L = new Uint8Array(QK);
const Laux = new Uint8Array(32);
const weights = new Float32Array(32);
const scales = new Float32Array(16);
const mins = new Float32Array(8);
const L6 = new Int8Array(QK);

/** The scale search of make_qkx2_quants: codes 0..nmax, candidates (rmin + 0.1 is + nmax) / range for is <= nstep.
 *  Q4_K: 15, -1, 20; Q5_K: 31, -0.5, 15. */
interface Qkx2 { nmax: number; rmin: number; nstep: number }
const Q4K: Qkx2 = { nmax: 15, rmin: -1, nstep: 20 };
const Q5K: Qkx2 = { nmax: 31, rmin: f(-0.5), nstep: 15 };

/** make_qkx2_quants(32, nmax, ...) for one sub-block: asymmetric codes into L[lo..lo+32) with a search over
 *  nstep + 1 scale candidates; returns [scale, -min]. */
function qkx2(x: Float32Array, o: number, lo: number, { nmax, rmin, nstep }: Qkx2): [number, number] {
  const n = 32;
  let min = x[o];
  let max = x[o];
  let sumW = weights[0];
  let sumX = f(sumW * x[o]);
  for (let i = 1; i < n; i++) {
    const v = x[o + i];
    if (v < min) min = v;
    if (v > max) max = v;
    sumW = f(sumW + weights[i]);
    sumX = f(sumX + f(weights[i] * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    return [0, -min];
  }
  const range = f(max - min);
  let iscale = f(nmax / range);
  let scale = f(1 / iscale);
  let best = 0;
  for (let i = 0; i < n; i++) {
    const r = nearestInt(f(iscale * f(x[o + i] - min)));
    const l = r < 0 ? 0 : r > nmax ? nmax : r;
    L[lo + i] = l;
    const diff = f(f(f(scale * l) + min) - x[o + i]);
    best = f(best + f(weights[i] * f(diff * diff)));
  }
  for (let is = 0; is <= nstep; is++) {
    iscale = f(f(f(rmin + f(TENTH * is)) + nmax) / range);
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const r = nearestInt(f(iscale * f(x[o + i] - min)));
      const l = r < 0 ? 0 : r > nmax ? nmax : r;
      Laux[i] = l;
      const wl = f(weights[i] * l);
      sumL = f(sumL + wl);
      sumL2 = f(sumL2 + f(wl * l));
      sumXL = f(sumXL + f(wl * x[o + i]));
    }
    const D = f(f(sumW * sumL2) - f(sumL * sumL));
    if (!(D > 0)) continue;
    let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / D);
    let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / D);
    if (thisMin > 0) {
      thisMin = 0;
      thisScale = f(sumXL / sumL2);
    }
    let err = 0;
    for (let i = 0; i < n; i++) {
      const diff = f(f(f(thisScale * Laux[i]) + thisMin) - x[o + i]);
      err = f(err + f(weights[i] * f(diff * diff)));
    }
    if (err < best) {
      for (let i = 0; i < n; i++) L[lo + i] = Laux[i];
      best = err;
      scale = thisScale;
      min = thisMin;
    }
  }
  return [scale, -min];
}

/** The 6-bit scale and min of sub-block j from the 12 packed bytes (get_scale_min_k4). */
export function scaleMinK4(j: number, q: Uint8Array, p: number): [number, number] {
  if (j < 4) return [q[p + j] & 63, q[p + j + 4] & 63];
  return [(q[p + j + 4] & 0xf) | ((q[p + j - 4] >> 6) << 4), (q[p + j + 4] >> 4) | ((q[p + j] >> 6) << 4)];
}

/** The shared head of a Q4_K / Q5_K super-block at out[p..): f16 d, f16 dmin and the 12 packed 6-bit scales and
 *  mins of the 8 sub-blocks, then each value's code (0..nmax) in L. */
function scaledBlock(out: Uint8Array, view: DataView, p: number, x: Float32Array, o: number, q: Qkx2): void {
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(x[o + 32 * j + l] * x[o + 32 * j + l]));
    const avX = f(Math.sqrt(f(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = f(avX + Math.abs(x[o + 32 * j + l]));
    const [s, m] = qkx2(x, o + 32 * j, 32 * j, q);
    scales[j] = s;
    mins[j] = m;
    if (s > maxScale) maxScale = s;
    if (m > maxMin) maxMin = m;
  }
  const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
  const sc = p + 4;
  out.fill(0, sc, sc + 12);
  for (let j = 0; j < 8; j++) {
    const ls = Math.min(63, nearestInt(f(invScale * scales[j])) & 0xff);
    const lm = Math.min(63, nearestInt(f(invMin * mins[j])) & 0xff);
    if (j < 4) {
      out[sc + j] = ls;
      out[sc + j + 4] = lm;
    } else {
      out[sc + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
      out[sc + j - 4] |= (ls >> 4) << 6;
      out[sc + j] |= (lm >> 4) << 6;
    }
  }
  const dBits = fp16Bits(f(maxScale / 63));
  const mBits = fp16Bits(f(maxMin / 63));
  view.setUint16(p, dBits, true);
  view.setUint16(p + 2, mBits, true);
  const [d0, m0] = [fp16Value(dBits), fp16Value(mBits)];
  for (let j = 0; j < 8; j++) {
    const [s, m] = scaleMinK4(j, out, sc);
    const d = f(d0 * s);
    if (!d) continue;
    const dm = f(m0 * m);
    for (let i = 0; i < 32; i++) L[32 * j + i] = Math.max(0, Math.min(q.nmax, nearestInt(f(f(x[o + 32 * j + i] + dm) / d))));
  }
}

/** One Q4_K super-block of x[o..o+256) into out[p..p+144): f16 d, f16 dmin, 12 bytes of scales, 128 bytes. */
function q4kBlock(out: Uint8Array, view: DataView, p: number, x: Float32Array, o: number): void {
  scaledBlock(out, view, p, x, o, Q4K);
  for (let j = 0, q = p + 16; j < QK; j += 64, q += 32) {
    for (let l = 0; l < 32; l++) out[q + l] = L[j + l] | (L[j + l + 32] << 4);
  }
}

/** One Q5_K super-block into out[p..p+176): d, dmin, scales as Q4_K, then qh[32] (the fifth bit of value n + j
 *  at bit 2 (n / 64) or 2 (n / 64) + 1 of qh[j]) and the low nibbles qs[128]. */
function q5kBlock(out: Uint8Array, view: DataView, p: number, x: Float32Array, o: number): void {
  scaledBlock(out, view, p, x, o, Q5K);
  const qh = p + 16;
  out.fill(0, qh, qh + 32);
  for (let n = 0, ql = p + 48, m1 = 1, m2 = 2; n < QK; n += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
    for (let j = 0; j < 32; j++) {
      let l1 = L[n + j];
      let l2 = L[n + j + 32];
      if (l1 > 15) {
        l1 -= 16;
        out[qh + j] |= m1;
      }
      if (l2 > 15) {
        l2 -= 16;
        out[qh + j] |= m2;
      }
      out[ql + j] = l1 | (l2 << 4);
    }
  }
}

/** make_qx_quants(16, 32, x, L, rmse_type 1): symmetric 6-bit codes weighted by x^2, with 18 scale
 *  candidates around -32/max; codes (0..63) into L6[lo..lo+16), returns the scale. */
function qx16(x: Float32Array, o: number, lo: number): number {
  const n = 16;
  const nmax = 32;
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[o + i]);
    if (ax > amax) {
      amax = ax;
      max = x[o + i];
    }
  }
  if (amax < EPS) {
    L6.fill(0, lo, lo + n);
    return 0;
  }
  let [sumlx, suml2] = fitQx(x, o, lo, f(-nmax / max), true);
  let scale = suml2 ? f(sumlx / suml2) : 0;
  let best = f(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    const iscale = f(f(-f(nmax + f(TENTH * is))) / max);
    [sumlx, suml2] = fitQx(x, o, lo, iscale, false);
    if (suml2 > 0 && f(sumlx * sumlx) > f(best * suml2)) {
      fitQx(x, o, lo, iscale, true);
      scale = f(sumlx / suml2);
      best = f(scale * sumlx);
    }
  }
  return scale;
}

const fit2: [number, number] = [0, 0];

/** One candidate scale of qx16: codes clamped to [-32, 31] (written to L6 when `write`), and the x^2-weighted
 *  sums of x*l and l*l (returned in a reused pair). */
function fitQx(x: Float32Array, o: number, lo: number, iscale: number, write: boolean): [number, number] {
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < 16; i++) {
    const v = x[o + i];
    let l = nearestInt(f(iscale * v));
    l = l < -32 ? -32 : l > 31 ? 31 : l;
    if (write) L6[lo + i] = l + 32;
    const w = f(v * v);
    sumlx = f(sumlx + f(f(w * v) * l));
    suml2 = f(suml2 + f(f(w * l) * l));
  }
  fit2[0] = sumlx;
  fit2[1] = suml2;
  return fit2;
}

/** One Q6_K super-block into out[p..p+210): ql[128], qh[64], int8 scales[16], f16 d. */
function q6kBlock(out: Uint8Array, view: DataView, p: number, x: Float32Array, o: number): void {
  let maxScale = 0;
  let maxAbs = 0;
  for (let ib = 0; ib < 16; ib++) {
    const s = qx16(x, o + 16 * ib, 16 * ib);
    scales[ib] = s;
    if (Math.abs(s) > maxAbs) {
      maxAbs = Math.abs(s);
      maxScale = s;
    }
  }
  out.fill(0, p, p + 210);
  if (maxAbs < EPS) return;
  const iscale = f(-128 / maxScale);
  const dBits = fp16Bits(f(1 / iscale));
  view.setUint16(p + 208, dBits, true);
  const d0 = fp16Value(dBits);
  for (let ib = 0; ib < 16; ib++) view.setInt8(p + 192 + ib, Math.min(127, nearestInt(f(iscale * scales[ib]))));
  for (let j = 0; j < 16; j++) {
    const d = f(d0 * view.getInt8(p + 192 + j));
    if (!d) continue;
    for (let i = 0; i < 16; i++) L6[16 * j + i] = Math.max(-32, Math.min(31, nearestInt(f(x[o + 16 * j + i] / d)))) + 32;
  }
  for (let j = 0, ql = p, qh = p + 128; j < QK; j += 128, ql += 64, qh += 32) {
    for (let l = 0; l < 32; l++) {
      const [a, b, c, e] = [L6[j + l], L6[j + l + 32], L6[j + l + 64], L6[j + l + 96]];
      out[ql + l] = (a & 0xf) | ((c & 0xf) << 4);
      out[ql + l + 32] = (b & 0xf) | ((e & 0xf) << 4);
      out[qh + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
    }
  }
}

function superBlocks(x: Float32Array, bytes: number, fn: typeof q4kBlock): Uint8Array {
  const out = new Uint8Array((x.length / QK) * bytes);
  const view = new DataView(out.buffer);
  for (let o = 0, p = 0; o < x.length; o += QK, p += bytes) fn(out, view, p, x, o);
  return out;
}

/** Q4_K bytes of x (its length a multiple of 256). */
export function quantizeQ4K(x: Float32Array): Uint8Array {
  return superBlocks(x, 144, q4kBlock);
}

/** Q5_K bytes of x (its length a multiple of 256). */
export function quantizeQ5K(x: Float32Array): Uint8Array {
  return superBlocks(x, 176, q5kBlock);
}

/** Q6_K bytes of x (its length a multiple of 256). */
export function quantizeQ6K(x: Float32Array): Uint8Array {
  return superBlocks(x, 210, q6kBlock);
}
