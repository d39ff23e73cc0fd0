// Pooling over tokens by fixed weights: out[b] = sum_t w[b, t] * h[b, t]. With one-hot weights it picks a token
// (CLS, the last real token), with mask / count it is mean pooling: every sentence-embedding and classification
// pooling is this one linear op.
import type { Tensor } from '../tensor.js';
import { kernels } from '../../kernels/index.js';
import { gradOf, needsGrad, record } from '../tape.js';
import { shapeError } from '../shape.js';
import { empty } from './util.js';

/** h [B, T, C], weights [B*T] -> [B, C]. */
export function tokenPool(h: Tensor, weights: Float32Array): Tensor {
  if (h.ndim !== 3 || weights.length !== h.shape[0] * h.shape[1]) {
    throw shapeError('tokenPool', { h: h.shape, weights: [weights.length] }, 'h [B, T, C] and one weight per token (B*T)');
  }
  const [B, T, C] = h.shape;
  const out = empty([B, C]);
  // out[b] (1 x C) = w[b] (1 x T) @ h[b] (T x C)
  kernels().gemm(out.data, weights, h.data, B, 1, C, T, false, false, 0, T, T * C);
  if (needsGrad([h])) {
    // dh[b] (T x C) += w[b]^T (T x 1) @ dout[b] (1 x C)
    record('tokenPool', out, [h], (dout) => kernels().gemm(gradOf(h), weights, dout, B, T, C, 1, true, false, 1, T, C));
  }
  return out;
}
