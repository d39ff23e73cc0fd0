// The bf16 mixed-precision kernels (part of the Kernels contract; native in native/src/lowp.h, reference in
// ref/lowp.ts). They compute what PyTorch's CPU autocast computes in bfloat16 with float32 master weights:
// r(x) below is round-to-nearest-even to bf16; bf16 buffers are Uint16Array bit patterns.
// Legend: N rows, O out features, I in features, R LoRA rank, C hidden; attention as Kernels.attention.
import type { F32 } from './types.js';

export interface LowpKernels {
  /** c = op(a16) @ op(b16) + beta * c (beta 0 or 1), bf16 operands with leading dimensions, float32 sums:
   *  op(a) is [M, K] stored [M, lda] ([K, lda] when transA), op(b) is [K, N] ([N, ldb] when transB), c [M, ldc]. */
  gemmBf16Ld(c: F32, a16: Uint16Array, b16: Uint16Array, M: number, N: number, K: number,
    transA: boolean, transB: boolean, beta: number, lda: number, ldb: number, ldc: number): void;
  /** A linear layer's bf16 output from yext [N, O + R] = x16 @ [W; A]^T (LoRA A as R extra rows of W):
   *  u16[n, r] = r(yext[n, O + r]); y16[n, o] = r(r(yext[n, o] + bias[o]) + r(r(sum_r u16[n, r] r(B[o, r])) * s)).
   *  R = 0 (u16 and B null) is a plain linear layer. */
  bf16LinearOut(y16: Uint16Array, u16: Uint16Array | null, yext: F32, bias: F32 | null, B: F32 | null, s: number,
    N: number, O: number, R: number): void;
  /** The backward GEMM operand g16 [N, O + R] of that layer: g16[n, o] = r(dy[n, o]); with dv = r(r(dy) * s),
   *  g16[n, O + r] = r(sum_o dv[n, o] r(B[o, r])); dB[o, r] += r(sum_n dv[n, o] u16[n, r]) when dB is given. */
  bf16LinearGrad(g16: Uint16Array, dB: F32 | null, dy: F32, u16: Uint16Array | null, B: F32 | null, s: number,
    N: number, O: number, R: number): void;
  /** dst += r(src) */
  bf16Accumulate(dst: F32, src: F32, n: number): void;
  /** m16 = r(r(silu(g)) * u) */
  swigluBf16(m16: Uint16Array, g16: Uint16Array, u16: Uint16Array, n: number): void;
  /** dg (+)= dm * u * silu'(g), du (+)= dm * r(silu(g)): added when accumulate, else written */
  swigluBf16Backward(dg: F32, du: F32, dm: F32, g16: Uint16Array, u16: Uint16Array, n: number, accumulate: boolean): void;
  /** out16 = r(rmsnorm(x)), rstd [N] saved as rmsnorm does */
  rmsnormBf16(out16: Uint16Array, rstd: F32, x: F32, w: F32, N: number, C: number, eps: number): void;
  /** sum = x + mult * y (exactly one of y, y16 given), then rmsnorm(sum) into out or r(...) into out16 (exactly
   *  one given); rstd [N]. mult = 1 adds y as it is (x + y). */
  addRmsnorm(sum: F32, out: F32 | null, out16: Uint16Array | null, rstd: F32, x: F32, y: F32 | null, y16: Uint16Array | null,
    mult: number, w: F32, N: number, C: number, eps: number): void;
  /** Attention in bf16 (PyTorch's CPU flash attention under autocast): q, k, v rounded; scores and softmax in
   *  float32; r(exp(s - max)) @ v16 divided by the float sum; the output rounded into out16 (and widened into
   *  out when given). Masks, lse and arguments as Kernels.attention. */
  attentionBf16(out: F32 | null, out16: Uint16Array, lse: F32, q: F32, k: F32, v: F32, alibi: F32 | null,
    seg: Int32Array | null, B: number, Tq: number, Tk: number, H: number, Hkv: number, D: number,
    scale: number, causal: number, window: number, softcap: number): void;
  /** Accumulates dq, dk, dv: p = exp(s - lse) from the rounded q, k; dv += r(p) r(dout); ds = scale p (r(dout) . v16 -
   *  r(dout) . out) cap'; dq += r(ds) k16; dk += r(ds) q16. */
  attentionBf16Backward(dq: F32, dk: F32, dv: F32, dout: F32, q: F32, k: F32, v: F32, out: F32, lse: F32,
    alibi: F32 | null, seg: Int32Array | null, B: number, Tq: number, Tk: number, H: number, Hkv: number, D: number,
    scale: number, causal: number, window: number, softcap: number, accumulate: boolean): void;
  /** attentionBf16 with q, k, v given as bf16 bits (a bf16 linear's or RoPE's output): the same results as on
   *  their widened values, without the widening and rounding passes. */
  attentionBf16Bits(out16: Uint16Array, lse: F32, q16: Uint16Array, k16: Uint16Array, v16: Uint16Array,
    alibi: F32 | null, seg: Int32Array | null, B: number, Tq: number, Tk: number, H: number, Hkv: number, D: number,
    scale: number, causal: number, window: number, softcap: number): void;
  /** attentionBf16Backward with q, k, v and the forward's output given as bf16 bits (the same results). */
  attentionBf16BitsBackward(dq: F32, dk: F32, dv: F32, dout: F32, q16: Uint16Array, k16: Uint16Array, v16: Uint16Array,
    out16: Uint16Array, lse: F32, alibi: F32 | null, seg: Int32Array | null, B: number, Tq: number, Tk: number, H: number,
    Hkv: number, D: number, scale: number, causal: number, window: number, softcap: number, accumulate: boolean): void;
  /** rope of bf16 rows into bf16 (out16 may alias x16): each value widened, rotated in float32 as rope does, rounded
   *  once; the same bits as rope on the widened input followed by f32ToBf16 */
  ropeBf16(out16: Uint16Array, x16: Uint16Array, cos: F32, sin: F32, pos: Int32Array, N: number, H: number, D: number): void;
  /** crossEntropy (per-row losses, -100 ignored) with its gradient (softmax - onehot) * gradScale rounded to bf16
   *  into g16, the LM head's backward GEMM operand (autocast's bf16 logits get a bf16 gradient); logits is
   *  overwritten (scratch for the row's exponentials). */
  crossEntropyBf16(losses: F32, g16: Uint16Array, logits: F32, targets: Int32Array, N: number, V: number, gradScale: number): void;
}

/** Every LowpKernels name, for the native loader. */
export const LOWP_KERNEL_NAMES = [
  'gemmBf16Ld', 'bf16LinearOut', 'bf16LinearGrad', 'bf16Accumulate', 'swigluBf16', 'swigluBf16Backward', 'rmsnormBf16',
  'addRmsnorm', 'attentionBf16', 'attentionBf16Backward', 'attentionBf16Bits', 'attentionBf16BitsBackward',
  'crossEntropyBf16', 'ropeBf16',
] as const satisfies readonly (keyof LowpKernels)[];
