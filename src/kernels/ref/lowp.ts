// Reference twins of the bf16 mixed-precision kernels (native/src/lowp.h): the same rounding points, plain loops.
// r(x) is round-to-nearest-even to bf16. Shapes: N rows, O out features, I in features, R LoRA rank, C hidden;
// attention as attention.ts.
import type { FA } from './types.js';
import { rmsnorm } from './norm.js';
import { crossEntropy } from './loss.js';
import { rope } from './embed-rope.js';
import { scores, type Geometry } from './attention.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bf16 bits of x, nearest even; NaN stays NaN */
export function bf16Bits(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16Value(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

/** x rounded through bf16 */
export function snap(x: number): number {
  return bf16Value(bf16Bits(x));
}

/** c = op(a16) @ op(b16) + beta * c, leading dimensions lda, ldb, ldc, sums in double then float. */
export function gemmBf16Ld(c: FA, a16: Uint16Array, b16: Uint16Array, M: number, N: number, K: number,
  transA: boolean, transB: boolean, beta: number, lda: number, ldb: number, ldc: number): void {
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const a = bf16Value(transA ? a16[k * lda + m] : a16[m * lda + k]);
        const b = bf16Value(transB ? b16[n * ldb + k] : b16[k * ldb + n]);
        s += a * b;
      }
      const i = m * ldc + n;
      c[i] = beta === 0 ? s : s + beta * c[i];
    }
  }
}

/** u16[n, r] = r(yext[n, O + r]); y16[n, o] = r(r(yext[n, o] + bias[o]) + r(r(sum_r u16 r(B[o, r])) * s)) */
export function bf16LinearOut(y16: Uint16Array, u16: Uint16Array | null, yext: FA, bias: FA | null, B: FA | null, s: number,
  N: number, O: number, R: number): void {
  const ld = O + R;
  for (let n = 0; n < N; n++) {
    for (let r = 0; r < R; r++) u16![n * R + r] = bf16Bits(yext[n * ld + O + r]);
    for (let o = 0; o < O; o++) {
      const base = snap(bias ? yext[n * ld + o] + bias[o] : yext[n * ld + o]);
      if (R === 0) {
        y16[n * O + o] = bf16Bits(base);
        continue;
      }
      let acc = 0;
      for (let r = 0; r < R; r++) acc = Math.fround(acc + bf16Value(u16![n * R + r]) * snap(B![o * R + r]));
      y16[n * O + o] = bf16Bits(base + snap(snap(acc) * s));
    }
  }
}

/** g16[n, o] = r(dy); dv = r(r(dy) * s); g16[n, O + r] = r(sum_o dv r(B[o, r])); dB[o, r] += r(sum_n dv u16[n, r]) */
export function bf16LinearGrad(g16: Uint16Array, dB: FA | null, dy: FA, u16: Uint16Array | null, B: FA | null, s: number,
  N: number, O: number, R: number): void {
  const ld = O + R;
  const part = new Float64Array(O * R);
  const dv = new Float64Array(O);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const h = bf16Bits(dy[n * O + o]);
      g16[n * ld + o] = h;
      dv[o] = snap(bf16Value(h) * s);
    }
    for (let r = 0; r < R; r++) {
      let du = 0;
      for (let o = 0; o < O; o++) {
        du += dv[o] * snap(B![o * R + r]);
        part[o * R + r] += dv[o] * bf16Value(u16![n * R + r]);
      }
      g16[n * ld + O + r] = bf16Bits(du);
    }
  }
  if (dB) for (let i = 0; i < O * R; i++) dB[i] += snap(part[i]);
}

/** dst += r(src) */
export function bf16Accumulate(dst: FA, src: FA, n: number): void {
  for (let i = 0; i < n; i++) dst[i] += snap(src[i]);
}

const silu = (g: number): number => g / (1 + Math.exp(-g));

/** m16 = r(r(silu(g)) * u) */
export function swigluBf16(m16: Uint16Array, g16: Uint16Array, u16: Uint16Array, n: number): void {
  for (let i = 0; i < n; i++) m16[i] = bf16Bits(snap(silu(bf16Value(g16[i]))) * bf16Value(u16[i]));
}

/** dg (+)= dm * u * silu'(g); du (+)= dm * r(silu(g)): added when accumulate, else written */
export function swigluBf16Backward(dg: FA, du: FA, dm: FA, g16: Uint16Array, u16: Uint16Array, n: number, accumulate: boolean): void {
  for (let i = 0; i < n; i++) {
    const g = bf16Value(g16[i]);
    const sg = 1 / (1 + Math.exp(-g));
    const a = dm[i] * bf16Value(u16[i]) * (sg * (1 + g * (1 - sg)));
    const b = dm[i] * snap(g * sg);
    dg[i] = accumulate ? dg[i] + a : a;
    du[i] = accumulate ? du[i] + b : b;
  }
}

/** out16 = r(rmsnorm(x)) */
export function rmsnormBf16(out16: Uint16Array, rstd: FA, x: FA, w: FA, N: number, C: number, eps: number): void {
  const row = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    rmsnorm(row, rstd.subarray(n, n + 1), x.subarray(n * C, (n + 1) * C), w, 1, C, eps);
    for (let c = 0; c < C; c++) out16[n * C + c] = bf16Bits(row[c]);
  }
}

/** sum = x + mult * y (y float or bf16 bits), then rmsnorm(sum) into out or (rounded) out16 */
export function addRmsnorm(sum: FA, out: FA | null, out16: Uint16Array | null, rstd: FA, x: FA, y: FA | null, y16: Uint16Array | null,
  mult: number, w: FA, N: number, C: number, eps: number): void {
  for (let i = 0; i < N * C; i++) {
    const yi = y ? y[i] : bf16Value(y16![i]);
    sum[i] = mult === 1 ? x[i] + yi : x[i] + Math.fround(yi * mult);
  }
  if (out) rmsnorm(out, rstd, sum, w, N, C, eps);
  else rmsnormBf16(out16!, rstd, sum, w, N, C, eps);
}

function rounded(a: FA): Float64Array {
  return Float64Array.from(a, snap);
}

/** bf16 attention: q, k, v rounded; softmax in float; r(exp(s - max)) times v16, divided by the sum, rounded. */
export function attentionBf16(out: FA | null, out16: Uint16Array, lse: FA, q: FA, k: FA, v: FA, alibi: FA | null, seg: Int32Array | null,
  B: number, Tq: number, Tk: number, H: number, Hkv: number, D: number,
  scale: number, causal: number, window: number, softcap: number): void {
  const g: Geometry = { B, Tq, Tk, H, Hkv, D, scale, causal, window, alibi, seg, softcap };
  const [q16, k16, v16] = [rounded(q), rounded(k), rounded(v)];
  const s = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < Tq; t++) {
      for (let h = 0; h < H; h++) {
        const oo = ((b * Tq + t) * H + h) * D;
        const li = (b * H + h) * Tq + t;
        const seen = scores(s, g, q16, k16, b, t, h);
        let max = -Infinity;
        for (let j = 0; j < Tk; j++) max = Math.max(max, s[j]);
        let sum = 0;
        const acc = new Float64Array(D);
        const kh = Math.floor(h / (H / Hkv));
        for (let j = 0; j < Tk && seen > 0; j++) {
          if (s[j] === -Infinity) continue;
          const e = Math.fround(Math.exp(s[j] - max));
          sum += e;
          const p = snap(e);
          const vo = ((b * Tk + j) * Hkv + kh) * D;
          for (let d = 0; d < D; d++) acc[d] += p * v16[vo + d];
        }
        lse[li] = seen > 0 ? max + Math.log(sum) : -Infinity;
        for (let d = 0; d < D; d++) {
          const h16 = bf16Bits(seen > 0 ? acc[d] * Math.fround(1 / sum) : 0);
          out16[oo + d] = h16;
          if (out) out[oo + d] = bf16Value(h16);
        }
      }
    }
  }
}

/** p = exp(s - lse); dv += r(p) r(dout); ds = scale p (r(dout).v16 - delta) cap'; dq += r(ds) k16; dk += r(ds) q16.
 *  Added into dq, dk, dv when accumulate, else written (as from zeros). */
export function attentionBf16Backward(dq: FA, dk: FA, dv: FA, dout: FA, q: FA, k: FA, v: FA, out: FA, lse: FA,
  alibi: FA | null, seg: Int32Array | null, B: number, Tq: number, Tk: number, H: number, Hkv: number, D: number,
  scale: number, causal: number, window: number, softcap: number, accumulate: boolean): void {
  if (!accumulate) for (const d of [dq, dk, dv]) d.fill(0);
  const g: Geometry = { B, Tq, Tk, H, Hkv, D, scale, causal, window, alibi, seg, softcap };
  const [q16, k16, v16, do16] = [rounded(q), rounded(k), rounded(v), rounded(dout)];
  const s = new Float64Array(Tk);
  const dcap = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < Tq; t++) {
      for (let h = 0; h < H; h++) {
        const L = lse[(b * H + h) * Tq + t];
        if (L === -Infinity) continue;
        scores(s, g, q16, k16, b, t, h, dcap);
        const qo = ((b * Tq + t) * H + h) * D;
        const kh = Math.floor(h / (H / Hkv));
        let delta = 0;
        for (let d = 0; d < D; d++) delta += do16[qo + d] * out[qo + d];
        for (let j = 0; j < Tk; j++) {
          if (s[j] === -Infinity) continue;
          const p = Math.fround(Math.exp(s[j] - L));
          const ko = ((b * Tk + j) * Hkv + kh) * D;
          let dp = 0;
          for (let d = 0; d < D; d++) dp += do16[qo + d] * v16[ko + d];
          const ds = snap(scale * (p * (dp - delta)) * dcap[j]);
          const p16 = snap(p);
          for (let d = 0; d < D; d++) {
            dv[ko + d] += p16 * do16[qo + d];
            dq[qo + d] += ds * k16[ko + d];
            dk[ko + d] += ds * q16[qo + d];
          }
        }
      }
    }
  }
}

const widen = (h: Uint16Array): Float32Array => Float32Array.from(h, bf16Value);

/** attentionBf16 on the widened bf16 inputs (what the native entry point computes without widening) */
export function attentionBf16Bits(out16: Uint16Array, lse: FA, q16: Uint16Array, k16: Uint16Array, v16: Uint16Array,
  alibi: FA | null, seg: Int32Array | null, B: number, Tq: number, Tk: number, H: number, Hkv: number, D: number,
  scale: number, causal: number, window: number, softcap: number): void {
  attentionBf16(null, out16, lse, widen(q16), widen(k16), widen(v16), alibi, seg, B, Tq, Tk, H, Hkv, D, scale, causal, window, softcap);
}

/** attentionBf16Backward on the widened bf16 inputs */
export function attentionBf16BitsBackward(dq: FA, dk: FA, dv: FA, dout: FA, q16: Uint16Array, k16: Uint16Array,
  v16: Uint16Array, out16: Uint16Array, lse: FA, alibi: FA | null, seg: Int32Array | null, B: number, Tq: number,
  Tk: number, H: number, Hkv: number, D: number, scale: number, causal: number, window: number, softcap: number,
  accumulate: boolean): void {
  attentionBf16Backward(dq, dk, dv, dout, widen(q16), widen(k16), widen(v16), widen(out16), lse, alibi, seg,
    B, Tq, Tk, H, Hkv, D, scale, causal, window, softcap, accumulate);
}

/** crossEntropy with the gradient rounded to bf16 into g16; logits is overwritten (here with the float gradient). */
export function crossEntropyBf16(losses: FA, g16: Uint16Array, logits: FA, targets: Int32Array, N: number, V: number,
  gradScale: number): void {
  crossEntropy(losses, logits, logits, targets, N, V, gradScale);
  for (let i = 0; i < N * V; i++) g16[i] = bf16Bits(logits[i]);
}

/** rope on the widened bf16 rows, rounded to bf16 (out16 may alias x16) */
export function ropeBf16(out16: Uint16Array, x16: Uint16Array, cos: FA, sin: FA, pos: Int32Array, N: number, H: number,
  D: number): void {
  const x = widen(x16);
  rope(x, x, cos, sin, pos, N, H, D);
  for (let i = 0; i < x.length; i++) out16[i] = bf16Bits(x[i]);
}
