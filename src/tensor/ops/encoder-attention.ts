// Bidirectional attention for encoders over [B, T, H, D] layouts: every query sees every real key (a padding mask
// over keys), optionally only within a symmetric local window (ModernBERT's local layers).
import type { Tensor } from '../tensor.js';
import { kernels } from '../../kernels/index.js';
import { gradOf, needsGrad, record } from '../tape.js';
import { shapeError } from '../shape.js';
import { empty, finite } from './util.js';

export interface EncoderAttentionOpts {
  /** [B, T]: 1 for a real token, 0 for padding (keys that no query may see); null = every token is real */
  keyMask?: Int32Array | null;
  /** key j is visible to query i only when |i - j| <= window; absent or < 0 = no window */
  window?: number;
  /** default 1/sqrt(D) */
  scale?: number;
}

/** q, k, v: [B, T, H, D] -> [B, T, H, D]. A query that sees no key gets the mean of v (see the kernel). */
export function encoderAttention(q: Tensor, k: Tensor, v: Tensor, opts: EncoderAttentionOpts = {}): Tensor {
  const same = (t: Tensor) => t.ndim === 4 && t.shape.every((d, i) => d === q.shape[i]);
  if (q.ndim !== 4 || !same(k) || !same(v)) {
    throw shapeError('encoderAttention', { q: q.shape, k: k.shape, v: v.shape }, 'q, k and v of one shape [B, T, H, D]');
  }
  const [B, T, H, D] = q.shape;
  const mask = opts.keyMask ?? null;
  if (mask && mask.length !== B * T) throw shapeError('encoderAttention', { q: q.shape, keyMask: [mask.length] }, `B*T = ${B * T} mask entries`);
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const window = opts.window !== undefined && opts.window >= 0 ? Math.floor(opts.window) : -1;
  const out = empty(q.shape);
  const lse = new Float32Array(B * H * T);
  kernels().encoderAttention(out.data, lse, q.data, k.data, v.data, mask, B, T, H, D, scale, window);
  finite('encoderAttention', { q, k, v, out });
  if (needsGrad([q, k, v])) {
    record('encoderAttention', out, [q, k, v], (dout) => {
      const dq = q.requiresGrad ? gradOf(q) : new Float32Array(q.size);
      const dk = k.requiresGrad ? gradOf(k) : new Float32Array(k.size);
      const dv = v.requiresGrad ? gradOf(v) : new Float32Array(v.size);
      kernels().encoderAttentionBackward(dq, dk, dv, dout, q.data, k.data, v.data, out.data, lse, mask, B, T, H, D, scale, window);
    });
  }
  return out;
}
