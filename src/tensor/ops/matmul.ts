// Batched matrix multiply with either operand transposed, and the linear layer built on it.
// Legend: M rows of op(a), K shared dim, N columns of op(b); leading dims of a are the batch.
import { Tensor } from '../tensor.js';
import { kernels } from '../../kernels/index.js';
import { gradOf, needsGrad, record } from '../tape.js';
import { numel, shapeError } from '../shape.js';
import { add, view } from './basic.js';
import { finite, uninit } from './util.js';
import { bf16Weight } from '../lowp.js';
import { linearBf16 } from './linear-bf16.js';
import { inferenceBf16, inferenceInt8, type Int8Storage } from '../weights.js';

export interface MatmulOpts {
  transA?: boolean;
  transB?: boolean;
}

/** a: [..., M, K] ([..., K, M] when transA); b: [K, N] (broadcast over a's batch) or [..., K, N] with the
 *  same batch dims ([.., N, K] when transB). Returns [..., M, N]. */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOpts = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.ndim < 2 || b.ndim < 2) throw shapeError('matmul', { a: a.shape, b: b.shape }, 'both operands at least 2-D');
  const lead = a.shape.slice(0, -2);
  const batch = numel(lead);
  const [a0, a1] = a.shape.slice(-2);
  const [b0, b1] = b.shape.slice(-2);
  const M = transA ? a1 : a0;
  const K = transA ? a0 : a1;
  const Kb = transB ? b1 : b0;
  const N = transB ? b0 : b1;
  const broadcastB = b.ndim === 2;
  if (K !== Kb) {
    throw shapeError('matmul', { a: a.shape, b: b.shape },
      `op(a)'s columns (${K}) to equal op(b)'s rows (${Kb})${transA || transB ? ` (transA=${transA}, transB=${transB})` : ''}`);
  }
  if (!broadcastB && (b.ndim !== a.ndim || numel(b.shape.slice(0, -2)) !== batch || b.shape.slice(0, -2).some((d, i) => d !== lead[i]))) {
    throw shapeError('matmul', { a: a.shape, b: b.shape }, 'b 2-D (shared) or with the same batch dimensions as a');
  }
  const out = uninit([...lead, M, N]); // gemm with beta 0 writes every element
  const sA = M * K;
  const sB = broadcastB ? 0 : K * N;
  kernels().gemm(out.data, a.data, b.data, batch, M, N, K, transA, transB, 0, sA, sB);
  finite('matmul', { a, b, out });
  if (needsGrad([a, b])) {
    record('matmul', out, [a, b], (dout) => {
      const G = kernels();
      // op(a) grad = dout @ op(b)^T ; op(b) grad = op(a)^T @ dout (transposes folded into the flags)
      if (a.requiresGrad) {
        if (!transA) G.gemm(gradOf(a), dout, b.data, batch, M, K, N, false, !transB, 1, M * N, sB);
        else G.gemm(gradOf(a), b.data, dout, batch, K, M, N, transB, true, 1, sB, M * N);
      }
      if (b.requiresGrad) {
        const db = gradOf(b);
        if (broadcastB && !transA && !transB) {
          G.gemm(db, a.data, dout, 1, K, N, batch * M, true, false, 1, 0, 0); // fold batch into the sum
        } else if (broadcastB && !transA && transB) {
          G.gemm(db, dout, a.data, 1, N, K, batch * M, true, false, 1, 0, 0);
        } else {
          for (let i = 0; i < batch; i++) {
            const da = a.data.subarray(i * sA, (i + 1) * sA);
            const dd = dout.subarray(i * M * N, (i + 1) * M * N);
            const dbi = broadcastB ? db : db.subarray(i * K * N, (i + 1) * K * N);
            if (!transB) G.gemm(dbi, da, dd, 1, K, N, M, !transA, false, 1, 0, 0);
            else G.gemm(dbi, dd, da, 1, N, K, M, true, transA, 1, 0, 0);
          }
        }
      }
    });
  }
  return out;
}

/** HF/PyTorch Linear: x [..., K] @ w[N, K]^T (+ bias [N]) -> [..., N]. Leading dims fold into one GEMM. */
export function linear(x: Tensor, w: Tensor, bias?: Tensor | null): Tensor {
  if (w.ndim !== 2 || x.ndim < 1 || x.shape[x.ndim - 1] !== w.shape[1]) {
    throw shapeError('linear', { x: x.shape, weight: w.shape }, `x's last dimension to equal weight's in_features (${w.shape[1] ?? '?'})`);
  }
  const x2 = x.ndim === 2 ? x : reshapeRows(x);
  const w16 = bf16Weight(w); // frozen w in mixed precision: a bf16 GEMM with a bf16 output (linear-bf16.ts)
  let y: Tensor;
  const held = w16 || needsGrad([x2]) ? null : inferenceBf16(w); // inference with bf16 weights (weights.ts)
  const held8 = w16 || held || needsGrad([x2]) ? null : inferenceInt8(w); // inference with int8 weights
  if (w16) y = linearBf16(x2, w, w16, bias ?? null);
  else if (held) y = linearHeldBf16(x2, w, held, bias ?? null);
  else if (held8) y = linearHeldInt8(x2, w, held8, bias ?? null);
  else {
    y = matmul(x2, w, { transB: true });
    if (bias) y = add(y, bias);
  }
  return x.ndim === 2 ? y : view(y, [...x.shape.slice(0, -1), w.shape[0]]);
}

/** x [N, I] @ w^T (+ bias) with w held for inference (bf16 bits or int8 rows): float32 output, no gradient. `mul`
 *  writes y = x w^T with beta 0, or adds it to the bias rows with beta 1. */
function linearHeld(x: Tensor, w: Tensor, bias: Tensor | null, mul: (y: Float32Array, N: number, O: number, I: number, beta: number) => void): Tensor {
  const [N, I] = x.shape;
  const O = w.shape[0];
  const y = uninit([N, O]); // bias rows, or the GEMM with beta 0, write it all
  if (bias) for (let n = 0; n < N; n++) y.data.set(bias.data, n * O);
  mul(y.data, N, O, I, bias ? 1 : 0);
  finite('linear', { x, y });
  return y;
}

/** x [N, I] @ r(w)^T (+ bias) with w held as bf16 bits. */
function linearHeldBf16(x: Tensor, w: Tensor, w16: Uint16Array, bias: Tensor | null): Tensor {
  return linearHeld(x, w, bias, (y, N, O, I, beta) => kernels().gemmBf16(y, x.data, w16, N, O, I, false, true, beta));
}

/** x [N, I] @ (scale * q)^T (+ bias) with w held as int8 rows. */
function linearHeldInt8(x: Tensor, w: Tensor, w8: Int8Storage, bias: Tensor | null): Tensor {
  return linearHeld(x, w, bias, (y, N, O, I, beta) => kernels().gemmI8(y, x.data, w8.q, w8.scale, N, O, I, beta));
}

function reshapeRows(x: Tensor): Tensor {
  const c = x.shape[x.ndim - 1];
  return view(x, [c === 0 ? 0 : x.size / c, c]);
}
