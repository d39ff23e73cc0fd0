// Compute precision for GEMMs against frozen weights. 'fp32' (default) is float32 throughout and matches the
// PyTorch float32 reference to ~1e-6. 'bf16' is mixed precision as bf16 autocast does it: the frozen base
// weights (linear layers, LM head) are multiplied as bfloat16 copies, activations rounded to bfloat16 on the
// way into those GEMMs, sums in float32; LoRA factors, their gradients, norms, attention, the loss and the
// optimizer stay float32. About 2x faster GEMMs where oneDNN runs them natively (AVX512-BF16 / AMX).
import { Tensor } from './tensor.js';
import type { Storage } from './storage.js';
import { kernels } from '../kernels/index.js';
import { int8WeightChanged } from './weights.js';
import { giveBack, onScopeEnd, takeBits, takeBuffer } from './pool.js';
import { numel, type Shape } from './shape.js';

export type ComputePrecision = 'fp32' | 'bf16';

let precision: ComputePrecision = 'fp32';
// bf16 copies of frozen weights, keyed by their storage (dropped with it)
let shadows = new WeakMap<Float32Array, Uint16Array>();

export function computePrecision(): ComputePrecision {
  return precision;
}

/** Sets the precision for every later forward/backward; returns the previous one. Switching to fp32 drops the
 *  bf16 copies. */
export function setComputePrecision(p: ComputePrecision): ComputePrecision {
  const prev = precision;
  precision = p;
  if (p === 'fp32') shadows = new WeakMap();
  return prev;
}

/** A frozen weight held as bf16 only (every float32 value was exactly a bf16 value, as in bf16 checkpoints):
 *  half the memory, and the float32 view is rebuilt, exactly, on the first read of `f32`. */
export class Bf16Storage implements Storage {
  readonly device = 'cpu' as const;
  /** the values; a view over the first `size` entries of a longer array when LoRA rows were appended */
  bits: Uint16Array;
  private wide: Float32Array | null = null;

  constructor(bits: Uint16Array) {
    this.bits = bits;
  }

  get size(): number {
    return this.bits.length;
  }

  get f32(): Float32Array {
    if (!this.wide) {
      this.wide = takeBuffer(this.bits.length); // an activation's widened view lives as long as its step
      kernels().bf16ToF32(this.wide, this.bits, this.bits.length);
    }
    return this.wide;
  }

  /** after an in-place change of the float32 view: bf16 GEMMs see the new values (rounded) */
  refresh(): void {
    if (this.wide) kernels().f32ToBf16(this.bits, this.wide, this.bits.length);
  }
}

/** The bf16 bits of w when every value is exactly a bf16 number (the low 16 bits of each float are zero),
 *  else null. */
function exactBf16(w: Tensor): Uint16Array | null {
  const u32 = new Uint32Array(w.data.buffer, w.data.byteOffset, w.size);
  const bits = new Uint16Array(w.size);
  for (let i = 0; i < u32.length; i++) {
    const u = u32[i];
    if ((u & 0xffff) !== 0) return null;
    bits[i] = u >>> 16;
  }
  return bits;
}

/** For bf16 training: replaces each frozen weight whose values are all exact bf16 numbers (weights loaded
 *  from a bf16 checkpoint) by a Bf16Storage tensor, so the float32 copy is freed (nothing reads it while the
 *  GEMMs use the bf16 bits; a reader gets it back, exactly). Returns the bytes freed. */
export function compactFrozenWeights(layers: { weight: Tensor }[]): number {
  let freed = 0;
  for (const layer of layers) {
    const w = layer.weight;
    if (w.requiresGrad || w.storage instanceof Bf16Storage) continue;
    const bits = exactBf16(w);
    if (!bits) continue;
    const t = new Tensor(new Bf16Storage(bits), w.shape, false);
    t.name = w.name;
    layer.weight = t;
    freed += 2 * w.size;
  }
  return freed;
}

/** The bf16 copy of a frozen weight when computing in bf16 (made on first use), else null: trainable
 *  weights always multiply in float32. */
export function bf16Weight(w: Tensor): Uint16Array | null {
  if (precision !== 'bf16' || w.requiresGrad) return null;
  if (w.storage instanceof Bf16Storage) return w.storage.bits;
  let s = shadows.get(w.data);
  if (!s) {
    s = new Uint16Array(w.size);
    kernels().f32ToBf16(s, w.data, w.size);
    shadows.set(w.data, s);
  }
  return s;
}

/** Forget the bf16 copy of a weight whose float32 values were changed in place (e.g. a fused adapter). */
export function weightChanged(w: Tensor): void {
  if (w.storage instanceof Bf16Storage) w.storage.refresh();
  else shadows.delete(w.data);
  int8WeightChanged(w);
}

/** A tensor of bf16 values (an autocast activation: a bf16 GEMM's output), its bits from the step pool. Ops that
 *  know bf16 read `storage.bits`; any other op reads `data`, the exact float32 widening, made on first use. */
export function bf16Tensor(shape: Shape): { tensor: Tensor; bits: Uint16Array } {
  const bits = takeBits(numel(shape));
  return { tensor: new Tensor(new Bf16Storage(bits), shape), bits };
}

/** t's values as float32 for one kernel call: a bf16 tensor is widened into a pooled buffer that `release` hands
 *  back at once (not its cached `data` view, which would live as long as the step); a float32 tensor is read as is. */
export function widenedOnce(t: Tensor): { f32: Float32Array; release: () => void } {
  const bits = bitsOf(t);
  if (!bits) return { f32: t.data, release: () => undefined };
  const f32 = takeBuffer(t.size);
  kernels().bf16ToF32(f32, bits, t.size);
  return { f32, release: () => giveBack(f32) };
}

/** The bf16 bits of t when its values are held as bf16, else null. */
export function bitsOf(t: Tensor): Uint16Array | null {
  return t.storage instanceof Bf16Storage ? t.storage.bits : null;
}

// the rounded copy of a float32 activation, made once per storage (q, k and v read the same normed input)
let operands = new WeakMap<Storage, Uint16Array>();

/** t as a bf16 GEMM operand: its own bits when it holds bf16, else its values rounded to nearest even (cached
 *  per storage; pooled inside a step). Only for tensors that are not changed in place afterwards. */
export function bf16Operand(t: Tensor): Uint16Array {
  const own = bitsOf(t);
  if (own) return own;
  let r = operands.get(t.storage);
  if (!r) {
    r = takeBits(t.size);
    kernels().f32ToBf16(r, t.data, t.size);
    operands.set(t.storage, r);
  }
  return r;
}

// the cached operands' pooled buffers go back when a step ends
onScopeEnd(() => {
  operands = new WeakMap();
});

// bf16 weights with room for a LoRA adapter's A rows right after them: [W; A] is one GEMM operand
const extended = new WeakMap<Tensor, Uint16Array>();

/** The bf16 copy of frozen weight w [O, I] laid out with at least R more rows after it, the first O rows being
 *  the weight (bf16Weight(w) becomes a view of them, so nothing is held twice); the caller writes its rows into
 *  the tail before each use. Null when w is not multiplied in bf16. */
export function bf16WeightWithRows(w: Tensor, R: number): Uint16Array | null {
  const w16 = bf16Weight(w);
  if (!w16) return null;
  const have = extended.get(w);
  if (have && have.length >= w.size + R * (w.shape[1] ?? 0) && have.buffer === w16.buffer) return have;
  const ext = new Uint16Array(w.size + R * (w.shape[1] ?? 0));
  ext.set(w16);
  const head = ext.subarray(0, w.size);
  if (w.storage instanceof Bf16Storage) w.storage.bits = head;
  else shadows.set(w.data, head);
  extended.set(w, ext);
  return ext;
}
