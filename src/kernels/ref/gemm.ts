// Reference GEMM: the plain triple loop, reading each operand through its (optional) transpose.
// Sums run in double precision; the result is rounded once when stored.
import type { FA } from './types.js';
import { bf16ToF32, f32ToBf16 } from './convert.js';
import { scale } from './elementwise.js';

/** c[b] = op(a[b]) @ op(b[b]) + beta * c[b] for b < batch (see Kernels.gemm).
 *  op(a) [M, K] is stored [K, M] when transA; op(b) [K, N] is stored [N, K] when transB; c [M, N]. */
export function gemm(c: FA, a: FA, b: FA, batch: number, M: number, N: number, K: number,
  transA: boolean, transB: boolean, beta: number, strideA: number, strideB: number): void {
  // element strides of op(a)[i, p] and op(b)[p, j] in their stored layouts
  const aRow = transA ? 1 : K;
  const aCol = transA ? M : 1;
  const bRow = transB ? 1 : N;
  const bCol = transB ? K : 1;
  for (let bi = 0; bi < batch; bi++) {
    const ao = bi * strideA;
    const bo = bi * strideB;
    const co = bi * M * N; // c is densely batched
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let p = 0; p < K; p++) acc += a[ao + i * aRow + p * aCol] * b[bo + p * bRow + j * bCol];
        const ci = co + i * N + j;
        // beta 0 overwrites: whatever c held (even NaN) must not leak into the result
        c[ci] = beta === 0 ? acc : acc + beta * c[ci];
      }
    }
  }
}

/** The first n values of a rounded to bf16 (nearest even), as floats. */
function roundedBf16(a: FA, n: number): Float32Array {
  const a16 = new Uint16Array(n);
  f32ToBf16(a16, a, n);
  return widenedBf16(a16, n);
}

/** The first n bf16 values of b as floats. */
function widenedBf16(b: Uint16Array, n: number): Float32Array {
  const f = new Float32Array(n);
  bf16ToF32(f, b, n);
  return f;
}

/** Kernels.gemmBf16: a rounded to bf16, b widened from bf16, then the plain GEMM (sums in double here). */
export function gemmBf16(c: FA, a: FA, b: Uint16Array, M: number, N: number, K: number,
  transA: boolean, transB: boolean, beta: number): void {
  gemm(c, roundedBf16(a, M * K), widenedBf16(b, K * N), 1, M, N, K, transA, transB, beta, 0, 0);
}

/** Kernels.gemmI8: c[M, N] (+)= a[M, K] @ (scale[n] * q[N, K])^T, the sum over k on the integers, scaled once
 *  (sums in double here). */
export function gemmI8(c: FA, a: FA, q: Int8Array, scale: FA, M: number, N: number, K: number, beta: number): void {
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += a[m * K + k] * q[n * K + k];
      const v = acc * scale[n];
      c[m * N + n] = beta === 0 ? v : v + c[m * N + n];
    }
  }
}

/** Kernels.gemmRowsI8: each element summed in the native AVX2 kernel's one order (two 8-lane float32 accumulators
 *  over alternate blocks of 8, added lane-wise, the lanes in a fixed tree, then the tail), then times its row's scale
 *  (without the native kernel's fused multiply-adds; the native AVX-512 path sums in 16 lanes). A row's result never depends on the rows beside it. */
export function gemmRowsI8(c: FA, a: FA, q: Int8Array, scale: FA, M: number, N: number, K: number, accumulate: boolean): void {
  const f = Math.fround;
  const K16 = K - (K % 16);
  const l0 = new Float64Array(8);
  const l1 = new Float64Array(8);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      l0.fill(0);
      l1.fill(0);
      for (let k = 0; k < K16; k += 16) {
        for (let j = 0; j < 8; j++) {
          l0[j] = f(l0[j] + f(a[m * K + k + j] * q[n * K + k + j]));
          l1[j] = f(l1[j] + f(a[m * K + k + 8 + j] * q[n * K + k + 8 + j]));
        }
      }
      const s = Array.from({ length: 8 }, (_, j) => f(l0[j] + l1[j]));
      const sum = f(f(f(s[0] + s[4]) + f(s[1] + s[5])) + f(f(s[2] + s[6]) + f(s[3] + s[7])));
      let tail = 0;
      for (let k = K16; k < K; k++) tail = f(tail + f(a[m * K + k] * q[n * K + k]));
      const v = f(f(sum + tail) * scale[n]);
      c[m * N + n] = accumulate ? c[m * N + n] + v : v;
    }
  }
}

/** Kernels.gemmRowsBf16: a rounded to bf16, each element summed in the native kernel's one order (8 lanes over
 *  blocks of 16, lane j taking the products at k + 2j and k + 2j + 1 and adding them before its sum; the lanes in a
 *  fixed tree, then the tail in k order), without the native kernel's fused multiply-adds. Products of two bf16
 *  values are exact in float32. A row's result never depends on the rows beside it. */
export function gemmRowsBf16(c: FA, a: FA, w: Uint16Array, M: number, N: number, K: number, accumulate: boolean): void {
  const f = Math.fround;
  const K16 = K - (K % 16);
  const ar = roundedBf16(a, M * K);
  const wf = widenedBf16(w, N * K);
  const lanes = new Float64Array(8);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const x = m * K;
      const y = n * K;
      lanes.fill(0);
      for (let k = 0; k < K16; k += 16) {
        for (let j = 0; j < 8; j++) {
          const e = ar[x + k + 2 * j] * wf[y + k + 2 * j];
          const o = ar[x + k + 2 * j + 1] * wf[y + k + 2 * j + 1];
          lanes[j] = f(lanes[j] + f(e + o));
        }
      }
      const sum = f(f(f(lanes[0] + lanes[4]) + f(lanes[1] + lanes[5])) + f(f(lanes[2] + lanes[6]) + f(lanes[3] + lanes[7])));
      let tail = 0;
      for (let k = K16; k < K; k++) tail = f(tail + ar[x + k] * wf[y + k]);
      const v = f(sum + tail);
      c[m * N + n] = accumulate ? f(c[m * N + n] + v) : v;
    }
  }
}

/** Kernels.quantizeRowsI8: per row, scale = max |w| / 127 rounded to float32 (0 for a zero row), q = w / scale
 *  rounded half away from zero, within [-127, 127]. */
export function quantizeRowsI8(q: Int8Array, scale: FA, w: FA, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    let amax = 0;
    for (let k = r * cols; k < (r + 1) * cols; k++) amax = Math.max(amax, Math.abs(w[k]));
    const s = Math.fround(amax / 127);
    scale[r] = s;
    if (s === 0) {
      q.fill(0, r * cols, (r + 1) * cols);
      continue;
    }
    for (let k = r * cols; k < (r + 1) * cols; k++) {
      const v = w[k] / s;
      const m = Math.min(127, Math.floor(Math.abs(v) + 0.5));
      q[k] = v < 0 ? -m : m;
    }
  }
}

/** c[M, N] = a[M, K] @ w[N, K]^T (c += that when accumulate), each element summed in one fixed order that does
 *  not depend on M: eight float32 lanes over k in steps of 8, the lanes added in a fixed tree, then the tail, or for
 *  K <= 16 one chain in k order (the native kernel's order, without its fused multiply-adds). A row's result never depends on the rows beside it. */
export function gemmRows(c: FA, a: FA, w: FA, M: number, N: number, K: number, accumulate: boolean): void {
  const f = Math.fround;
  const lanes = new Float64Array(8);
  const K8 = K <= 16 ? 0 : K - (K % 8); // short dot products (a LoRA rank) are one chain in k order
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      lanes.fill(0);
      for (let k = 0; k < K8; k += 8) {
        for (let j = 0; j < 8; j++) lanes[j] = f(lanes[j] + f(a[m * K + k + j] * w[n * K + k + j]));
      }
      let tail = 0;
      for (let k = K8; k < K; k++) tail = f(tail + f(a[m * K + k] * w[n * K + k]));
      const sum = f(f(f(lanes[0] + lanes[4]) + f(lanes[1] + lanes[5])) + f(f(lanes[2] + lanes[6]) + f(lanes[3] + lanes[7])));
      const v = f(sum + tail);
      c[m * N + n] = accumulate ? c[m * N + n] + v : v;
    }
  }
}

/** The outputs of a gemmRows*Many call, checked as the native binding checks them: S entries each, every output
 *  [M, Ns[s]] and weight [Ns[s], K] long enough. */
function checkMany(name: string, cs: readonly FA[], ws: readonly { length: number }[], Ns: Int32Array, S: number, M: number, K: number,
  wName = 'ws'): void {
  if (Ns.length < S || cs.length < S || ws.length < S) {
    throw new Error(`${name}: Ns, cs and ${wName} need ${S} entries each, got ${Ns.length}, ${cs.length} and ${ws.length}`);
  }
  for (let s = 0; s < S; s++) {
    if (!(Ns[s] >= 0)) throw new Error(`${name}: Ns[${s}] must be >= 0, got ${Ns[s]}`);
    if (cs[s].length < M * Ns[s]) throw new Error(`${name}: argument cs[${s}] is too short: needs ${M * Ns[s]} values (M x Ns[${s}]), got ${cs[s].length}`);
    if (ws[s].length < Ns[s] * K) throw new Error(`${name}: argument ${wName}[${s}] is too short: needs ${Ns[s] * K} values (Ns[${s}] x K), got ${ws[s].length}`);
  }
}

/** Kernels.gemmRowsMany: gemmRows for each output. */
export function gemmRowsMany(cs: readonly FA[], a: FA, ws: readonly FA[], Ns: Int32Array, S: number, M: number, K: number, accumulate: boolean): void {
  checkMany('gemmRowsMany', cs, ws, Ns, S, M, K);
  for (let s = 0; s < S; s++) gemmRows(cs[s], a, ws[s], M, Ns[s], K, accumulate);
}

/** Kernels.gemmRowsBf16Many: gemmRowsBf16 for each output. */
export function gemmRowsBf16Many(cs: readonly FA[], a: FA, ws: readonly Uint16Array[], Ns: Int32Array, S: number, M: number, K: number,
  accumulate: boolean): void {
  checkMany('gemmRowsBf16Many', cs, ws, Ns, S, M, K);
  for (let s = 0; s < S; s++) gemmRowsBf16(cs[s], a, ws[s], M, Ns[s], K, accumulate);
}

/** Kernels.gemmRowsI8Many: gemmRowsI8 for each output. */
export function gemmRowsI8Many(cs: readonly FA[], a: FA, qs: readonly Int8Array[], scales: readonly FA[], Ns: Int32Array, S: number,
  M: number, K: number, accumulate: boolean): void {
  checkMany('gemmRowsI8Many', cs, qs, Ns, S, M, K, 'qs');
  for (let s = 0; s < S; s++) {
    if (scales.length <= s || scales[s].length < Ns[s]) {
      throw new Error(`gemmRowsI8Many: argument scales[${s}] is too short: needs ${Ns[s]} values (Ns[${s}]), got ${scales[s]?.length ?? 'none'}`);
    }
    gemmRowsI8(cs[s], a, qs[s], scales[s], M, Ns[s], K, accumulate);
  }
}

/** Kernels.loraRows: for each group, gemmRows, scale and an accumulating gemmRows over its rows. */
export function loraRows(y: FA, x: FA, as: readonly FA[], bs: readonly FA[], scales: FA, starts: Int32Array, ends: Int32Array,
  ranks: Int32Array, G: number, M: number, I: number, O: number): void {
  for (let g = 0; g < G; g++) {
    const [m0, m1, R] = [starts[g], ends[g], ranks[g]];
    if (!(m0 >= 0 && m0 <= m1 && m1 <= M && R >= 1) || as[g].length < R * I || bs[g].length < O * R) {
      throw new Error(`loraRows: group ${g} needs 0 <= start <= end <= M (${M}), rank >= 1 and factors of ${R * I} and ${O * R} values, got rows ${m0}..${m1}, rank ${R}, ${as[g].length} and ${bs[g].length} values`);
    }
    const rows = m1 - m0;
    if (rows === 0) continue;
    const u = new Float32Array(rows * R);
    gemmRows(u, x.subarray(m0 * I, m1 * I), as[g], rows, R, I, false);
    scale(u, u, scales[g], u.length);
    gemmRows(y.subarray(m0 * O, m1 * O), u, bs[g], rows, O, R, true);
  }
}
