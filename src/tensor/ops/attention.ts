// Scaled dot-product attention over [B, T, H, D] layouts (no transposes): causal with a KV-cache offset,
// grouped-query heads, sliding window, packed-segment isolation, ALiBi slopes and tanh score soft-capping.
import { Tensor } from '../tensor.js';
import { kernels } from '../../kernels/index.js';
import { gradOf, gradSlots, needsGrad, record } from '../tape.js';
import { shapeError } from '../shape.js';
import { finite, scratch, uninit } from './util.js';
import { bf16Tensor, bitsOf, computePrecision, widenedOnce } from '../lowp.js';

export interface AttentionOpts {
  /** default 1/sqrt(D) */
  scale?: number;
  /** default true */
  causal?: boolean;
  /** sliding window (Mistral): a query sees keys less than `window` positions back; 0 = unlimited */
  window?: number;
  /** [H] ALiBi slopes (BLOOM/Falcon-style position bias) */
  alibi?: Float32Array | null;
  /** [B, Tk] segment ids: tokens attend only within their segment (packing) */
  segments?: Int32Array | null;
  /** scaled scores x become softcap * tanh(x / softcap) before masking (Gemma 2 attn_logit_softcapping);
   *  0 or absent = none */
  softcap?: number;
}

/** q: [B, Tq, H, D]; k, v: [B, Tk, Hkv, D] with H % Hkv === 0 and Tq <= Tk. Returns [B, Tq, H, D]. */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOpts = {}): Tensor {
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) {
    throw shapeError('attention', { q: q.shape, k: k.shape, v: v.shape }, 'q [B, Tq, H, D], k and v [B, Tk, Hkv, D]');
  }
  const [B, Tq, H, D] = q.shape;
  const [Bk, Tk, Hkv, Dk] = k.shape;
  const bad = Bk !== B || Dk !== D || v.shape.some((d, i) => d !== k.shape[i]) || Hkv === 0 || H % Hkv !== 0 || Tq > Tk;
  if (bad) {
    throw shapeError('attention', { q: q.shape, k: k.shape, v: v.shape },
      'k and v of equal shape [B, Tk, Hkv, D] matching q\'s B and D, H divisible by Hkv, and Tq <= Tk');
  }
  const alibi = opts.alibi ?? null;
  const seg = opts.segments ?? null;
  if (alibi && alibi.length !== H) throw shapeError('attention', { q: q.shape, alibi: [alibi.length] }, `one ALiBi slope per head (${H})`);
  if (seg && seg.length !== B * Tk) throw shapeError('attention', { k: k.shape, segments: [seg.length] }, `B*Tk = ${B * Tk} segment ids`);
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const causal = opts.causal === false ? 0 : 1;
  const window = opts.window ?? 0;
  const softcap = opts.softcap ?? 0;
  if (computePrecision() === 'bf16') return attentionBf16(q, k, v, { alibi, seg, scale, causal, window, softcap });
  const out = uninit(q.shape); // a query that sees no key gets a written zero row
  const lse = scratch(B * H * Tq);
  kernels().attention(out.data, lse, q.data, k.data, v.data, alibi, seg, B, Tq, Tk, H, Hkv, D, scale, causal, window, softcap);
  finite('attention', { q, k, v, out });
  if (needsGrad([q, k, v])) {
    record('attention', out, [q, k, v], (dout) => {
      const dq = q.requiresGrad ? gradOf(q) : scratch(q.size);
      const dk = k.requiresGrad ? gradOf(k) : scratch(k.size);
      const dv = v.requiresGrad ? gradOf(v) : scratch(v.size);
      kernels().attentionBackward(dq, dk, dv, dout, q.data, k.data, v.data, out.data, lse, alibi, seg,
        B, Tq, Tk, H, Hkv, D, scale, causal, window, softcap);
    });
  }
  return out;
}

interface Masks {
  alibi: Float32Array | null;
  seg: Int32Array | null;
  scale: number;
  causal: number;
  window: number;
  softcap: number;
}

/** Attention in bf16 mixed precision (PyTorch's scaled_dot_product_attention under CPU autocast): bf16 GEMMs,
 *  float32 softmax, a bf16 output tensor. */
function attentionBf16(q: Tensor, k: Tensor, v: Tensor, m: Masks): Tensor {
  const [B, Tq, H, D] = q.shape;
  const [, Tk, Hkv] = k.shape;
  const { tensor: out, bits } = bf16Tensor(q.shape);
  const lse = scratch(B * H * Tq);
  const K = kernels();
  // bf16 inputs (linear outputs, RoPE's rounded output) go in as bits when all three are; otherwise they are widened
  // for the call only (the kernel rounds them to bf16 again: the same bits), as a widened copy kept for the step
  // would double their memory
  const [q16, k16, v16] = [q, k, v].map(bitsOf);
  const allBits = q16 !== null && k16 !== null && v16 !== null;
  const read = () => [q, k, v].map(widenedOnce);
  if (allBits) {
    K.attentionBf16Bits(bits, lse, q16, k16, v16, m.alibi, m.seg, B, Tq, Tk, H, Hkv, D, m.scale, m.causal, m.window, m.softcap);
  } else {
    const fwd = read();
    K.attentionBf16(null, bits, lse, fwd[0].f32, fwd[1].f32, fwd[2].f32, m.alibi, m.seg, B, Tq, Tk, H, Hkv, D, m.scale, m.causal, m.window, m.softcap);
    for (const r of fwd) r.release();
  }
  finite('attention', { q, k, v, out });
  if (needsGrad([q, k, v])) {
    record('attentionBf16', out, [q, k, v], (dout) => {
      const { data: [dq, dk, dv], accumulate } = gradSlots([q, k, v], scratch);
      if (allBits) {
        kernels().attentionBf16BitsBackward(dq, dk, dv, dout, q16, k16, v16, bits, lse, m.alibi, m.seg,
          B, Tq, Tk, H, Hkv, D, m.scale, m.causal, m.window, m.softcap, accumulate);
        return;
      }
      const [qf, kf, vf, of] = [...read(), widenedOnce(out)];
      kernels().attentionBf16Backward(dq, dk, dv, dout, qf.f32, kf.f32, vf.f32, of.f32, lse, m.alibi, m.seg,
        B, Tq, Tk, H, Hkv, D, m.scale, m.causal, m.window, m.softcap, accumulate);
      for (const r of [qf, kf, vf, of]) r.release();
    });
  }
  return out;
}
