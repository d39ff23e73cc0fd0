// Neural-network ops with hand-written backwards: embedding, norms, rotary embedding, activations,
// softmax, dropout. Each forward calls one fused kernel; each backward calls its twin.
import { Tensor } from '../tensor.js';
import { kernels } from '../../kernels/index.js';
import { gradOf, gradSlots, needsGrad, record } from '../tape.js';
import { rowsCols, sameShape, shapeError } from '../shape.js';
import { finite, nonEmptyLast, scratch, uninit } from './util.js';
import { bf16Tensor, bitsOf, widenedOnce } from '../lowp.js';
import { giveBack } from '../pool.js';
import { ShitateError } from '../../errors.js';

/** table [V, C], ids (N of them) -> [...idsShape, C]; ids are checked against V. */
export function embedding(table: Tensor, ids: Int32Array, idsShape: readonly number[] = [ids.length]): Tensor {
  const C = checkIds(table, ids);
  const out = uninit([...idsShape, C]);
  if (out.size !== ids.length * C) throw shapeError('embedding', { ids: [ids.length], idsShape }, 'idsShape with as many elements as ids');
  if (bitsOf(table) && !needsGrad([table])) {
    gatherRows(out.data, table, ids, C); // a frozen table held as bf16 (DecoderModel.compactTables)
    return out;
  }
  kernels().embedding(out.data, table.data, ids, ids.length, C);
  if (needsGrad([table])) record('embedding', out, [table], (dout) => kernels().embeddingBackward(gradOf(table), dout, ids, ids.length, C));
  return out;
}

/** The rows of `table` for `ids` into out [ids.length, C], one row at a time on this thread (no gradient): a bf16
 *  table's rows widened from their bits, exactly. For a few hundred ids at most (the batched decode step). */
export function embeddingRows(out: Float32Array, table: Tensor, ids: Int32Array): void {
  gatherRows(out, table, ids, checkIds(table, ids));
}

/** The rows of ids (checked already) into out, one at a time; a bf16 table's rows widened exactly. */
function gatherRows(out: Float32Array, table: Tensor, ids: Int32Array, C: number): void {
  const bits = bitsOf(table);
  const K = kernels();
  if (bits) for (let i = 0; i < ids.length; i++) K.bf16ToF32(out.subarray(i * C, (i + 1) * C), bits.subarray(ids[i] * C, (ids[i] + 1) * C), C);
  else for (let i = 0; i < ids.length; i++) out.set(table.data.subarray(ids[i] * C, (ids[i] + 1) * C), i * C);
}

/** The table's width C, after checking it is 2-D and every id is a row of it. */
function checkIds(table: Tensor, ids: Int32Array): number {
  if (table.ndim !== 2) throw shapeError('embedding', { table: table.shape }, 'a 2-D table [vocab, hidden]');
  const [V, C] = table.shape;
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 0 && ids[i] < V)) {
      throw new ShitateError('E_TOKEN_RANGE', `embedding: token id ${ids[i]} at position ${i} is outside the vocabulary [0, ${V})`,
        'the tokenizer and the model do not match: use the tokenizer that ships with the model');
    }
  }
  return C;
}

function checkNormWeight(op: string, x: Tensor, w: Tensor): [number, number] {
  const C = nonEmptyLast(op, x, 'x');
  if (w.ndim !== 1 || w.shape[0] !== C) throw shapeError(op, { x: x.shape, weight: w.shape }, `weight of shape [${C}]`);
  return [x.size / C, C];
}

/** RMSNorm as HF Llama computes it: x / sqrt(mean(x^2) + eps) * w over the last dimension. */
export function rmsnorm(x: Tensor, w: Tensor, eps: number): Tensor {
  const [N, C] = checkNormWeight('rmsnorm', x, w);
  const out = uninit(x.shape);
  const rstd = scratch(N);
  kernels().rmsnorm(out.data, rstd, x.data, w.data, N, C, eps);
  finite('rmsnorm', { x, w, out });
  if (needsGrad([x, w])) {
    record('rmsnorm', out, [x, w], (dout) => {
      const dx = x.requiresGrad ? gradOf(x) : scratch(x.size); // kernel always writes dx
      kernels().rmsnormBackward(dx, w.requiresGrad ? gradOf(w) : null, dout, x.data, w.data, rstd, N, C);
    });
  }
  return out;
}

export function layernorm(x: Tensor, w: Tensor, b: Tensor | null, eps: number): Tensor {
  const [N, C] = checkNormWeight('layernorm', x, w);
  if (b && !sameShape(b.shape, w.shape)) throw shapeError('layernorm', { weight: w.shape, bias: b.shape }, 'bias shaped like weight');
  const out = uninit(x.shape);
  const mean = scratch(N);
  const rstd = scratch(N);
  kernels().layernorm(out.data, mean, rstd, x.data, w.data, b ? b.data : null, N, C, eps);
  finite('layernorm', { x, w, b, out });
  const inputs = b ? [x, w, b] : [x, w];
  if (needsGrad(inputs)) {
    record('layernorm', out, inputs, (dout) => {
      const dx = x.requiresGrad ? gradOf(x) : scratch(x.size);
      kernels().layernormBackward(dx, w.requiresGrad ? gradOf(w) : null, b?.requiresGrad ? gradOf(b) : null,
        dout, x.data, w.data, mean, rstd, N, C);
    });
  }
  return out;
}

/** Rotary embedding (rotate-half). x: [B, T, H, D] or [N, H, D]; pos: absolute position of each of the
 *  B*T rows (a KV-cache offset or packed-sequence restarts are just different positions); cos/sin: [P, D/2]. */
export function rope(x: Tensor, cos: Float32Array, sin: Float32Array, pos: Int32Array, opts: { bf16Out?: boolean } = {}): Tensor {
  if (x.ndim < 3) throw shapeError('rope', { x: x.shape }, 'x of shape [B, T, H, D] or [N, H, D]');
  const D = x.shape[x.ndim - 1];
  const H = x.shape[x.ndim - 2];
  const N = D * H === 0 ? 0 : x.size / (H * D);
  if (D % 2 !== 0) throw shapeError('rope', { x: x.shape }, 'an even head dimension');
  if (pos.length !== N) throw shapeError('rope', { x: x.shape, pos: [pos.length] }, `one position per row (${N})`);
  const P = cos.length / (D / 2);
  for (let i = 0; i < N; i++) {
    if (!(pos[i] >= 0 && pos[i] < P)) {
      throw new ShitateError('E_CONTEXT', `rope: position ${pos[i]} is outside the rotary table (${P} positions)`,
        'shorten the input or raise max_position_embeddings');
    }
  }
  let out: Tensor;
  const x16 = opts.bf16Out ? bitsOf(x) : null;
  if (x16) { // bf16 in and out: one kernel widens, rotates and rounds each token (no float32 copies)
    const made = bf16Tensor(x.shape);
    kernels().ropeBf16(made.bits, x16, cos, sin, pos, N, H, D);
    out = made.tensor;
  } else if (opts.bf16Out) {
    // computed in float32 as below, then rounded once into a bf16 tensor: for a consumer that rounds its input to
    // bf16 anyway (bf16 attention), the same numbers at half the memory
    const xf = widenedOnce(x);
    const of = scratch(x.size);
    kernels().rope(of, xf.f32, cos, sin, pos, N, H, D);
    xf.release();
    const made = bf16Tensor(x.shape);
    kernels().f32ToBf16(made.bits, of, x.size);
    giveBack(of);
    out = made.tensor;
  } else {
    out = uninit(x.shape);
    kernels().rope(out.data, x.data, cos, sin, pos, N, H, D);
  }
  if (needsGrad([x])) {
    record('rope', out, [x], (dout) => {
      const { data: [dx], accumulate } = gradSlots([x], scratch);
      kernels().ropeBackward(dx, dout, cos, sin, pos, N, H, D, accumulate);
    });
  }
  return out;
}

export function silu(x: Tensor): Tensor {
  const out = uninit(x.shape);
  kernels().silu(out.data, x.data, x.size);
  if (needsGrad([x])) record('silu', out, [x], (dout) => kernels().siluBackward(gradOf(x), dout, x.data, x.size));
  return out;
}

/** silu(gate) * up, the Llama MLP's gated activation. */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  if (!sameShape(gate.shape, up.shape)) throw shapeError('swiglu', { gate: gate.shape, up: up.shape }, 'gate and up of the same shape');
  const g16 = bitsOf(gate);
  const u16 = bitsOf(up);
  if (g16 && u16) return swigluBf16(gate, up, g16, u16);
  const out = uninit(gate.shape);
  kernels().swiglu(out.data, gate.data, up.data, gate.size);
  finite('swiglu', { gate, up, out });
  if (needsGrad([gate, up])) {
    record('swiglu', out, [gate, up], (dout) => {
      const n = gate.size;
      kernels().swigluBackward(gate.requiresGrad ? gradOf(gate) : scratch(n), up.requiresGrad ? gradOf(up) : scratch(n),
        dout, gate.data, up.data, n);
    });
  }
  return out;
}

/** swiglu of two bf16 tensors (autocast: both are bf16 GEMM outputs): r(r(silu(g)) * u), a bf16 tensor that the
 *  down projection takes as its GEMM operand as it is. Backward reads the saved bf16 gate and up. */
function swigluBf16(gate: Tensor, up: Tensor, g16: Uint16Array, u16: Uint16Array): Tensor {
  const n = gate.size;
  const { tensor: out, bits } = bf16Tensor(gate.shape);
  kernels().swigluBf16(bits, g16, u16, n);
  finite('swiglu', { gate, up, out });
  if (needsGrad([gate, up])) {
    record('swigluBf16', out, [gate, up], (dout) => {
      const { data: [dg, du], accumulate } = gradSlots([gate, up], scratch);
      kernels().swigluBf16Backward(dg, du, dout, g16, u16, n, accumulate);
    });
  }
  return out;
}

/** gelu(gate) * up, Gemma's GeGLU MLP activation; approximate as for gelu ('tanh' = gelu_pytorch_tanh). */
export function geglu(gate: Tensor, up: Tensor, approximate: 'erf' | 'tanh' = 'tanh'): Tensor {
  if (!sameShape(gate.shape, up.shape)) throw shapeError('geglu', { gate: gate.shape, up: up.shape }, 'gate and up of the same shape');
  const a = approximate === 'tanh' ? 1 : 0;
  const out = uninit(gate.shape);
  kernels().geglu(out.data, gate.data, up.data, gate.size, a);
  finite('geglu', { gate, up, out });
  if (needsGrad([gate, up])) {
    record('geglu', out, [gate, up], (dout) => {
      const n = gate.size;
      kernels().gegluBackward(gate.requiresGrad ? gradOf(gate) : scratch(n), up.requiresGrad ? gradOf(up) : scratch(n),
        dout, gate.data, up.data, n, a);
    });
  }
  return out;
}

/** GELU: 'erf' (exact, BERT/Falcon "gelu") or 'tanh' ("gelu_new", "gelu_pytorch_tanh"). */
export function gelu(x: Tensor, approximate: 'erf' | 'tanh' = 'erf'): Tensor {
  const a = approximate === 'tanh' ? 1 : 0;
  const out = uninit(x.shape);
  kernels().gelu(out.data, x.data, x.size, a);
  if (needsGrad([x])) record('gelu', out, [x], (dout) => kernels().geluBackward(gradOf(x), dout, x.data, x.size, a));
  return out;
}

/** Softmax over the last dimension. */
export function softmax(x: Tensor): Tensor {
  nonEmptyLast('softmax', x, 'x');
  const [N, C] = rowsCols(x.shape);
  const out = uninit(x.shape);
  kernels().softmax(out.data, x.data, N, C);
  finite('softmax', { x, out });
  if (needsGrad([x])) record('softmax', out, [x], (dout) => kernels().softmaxBackward(gradOf(x), dout, out.data, N, C));
  return out;
}

/** Inverted dropout; the mask is a pure function of (seed, index), so backward recomputes it. */
export function dropout(x: Tensor, p: number, seed: number): Tensor {
  if (!(p >= 0 && p < 1)) {
    throw new ShitateError('E_CONFIG', `dropout: probability must be in [0, 1), found ${p}`, 'use e.g. 0.05 for LoRA dropout, 0 to disable');
  }
  if (p === 0) return x;
  const out = uninit(x.shape);
  kernels().dropout(out.data, x.data, x.size, p, seed >>> 0);
  if (needsGrad([x])) record('dropout', out, [x], (dout) => kernels().dropoutBackward(gradOf(x), dout, x.size, p, seed >>> 0));
  return out;
}

