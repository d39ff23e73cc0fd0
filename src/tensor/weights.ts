// The format frozen weights are held in for inference (generation and serving). 'f32' (default) multiplies the
// float32 weights. 'bf16' rounds every frozen weight to bfloat16 once (nearest even) and multiplies r(x) by it with
// float32 sums and float32 outputs (gemmBf16): a decode step streams every weight once, so half the bytes per
// token; prefill runs on the bf16 GEMM. 'int8' quantizes each weight row symmetrically to int8 with one float32
// scale (per output channel: scale = max |w| / 127, q = round(w / scale)) and multiplies float32 activations by
// scale * q (gemmI8): a quarter of float32's bytes per decode step. Training never uses either: a layer whose
// output needs a gradient keeps float32.
import { Tensor } from './tensor.js';
import { Bf16Storage } from './lowp.js';
import type { Storage } from './storage.js';
import { kernels } from '../kernels/index.js';
import { lineAlignedUint16 } from './aligned.js';

export type WeightFormat = 'f32' | 'bf16' | 'int8';

/** The weight formats, for flags and config files. */
export const WEIGHT_FORMATS: readonly WeightFormat[] = ['f32', 'bf16', 'int8'];

/** A weight [rows, cols] held as int8 with one float32 scale per row; `f32` (the values scale * q) is built on
 *  first read and kept. */
export class Int8Storage implements Storage {
  readonly device = 'cpu' as const;
  private wide: Float32Array | null = null;

  constructor(readonly q: Int8Array, readonly scale: Float32Array, readonly cols: number) {}

  get size(): number {
    return this.q.length;
  }

  get f32(): Float32Array {
    if (!this.wide) {
      const w = new Float32Array(this.q.length);
      for (let r = 0; r < this.scale.length; r++) {
        const s = this.scale[r];
        for (let k = r * this.cols; k < (r + 1) * this.cols; k++) w[k] = this.q[k] * s;
      }
      this.wide = w;
    }
    return this.wide;
  }

  /** after an in-place change of the float32 view (a LoRA fused in or out): quantize the rows again */
  refresh(): void {
    if (!this.wide) return;
    const { q, scale } = quantizeRowsInt8(this.wide, this.scale.length, this.cols);
    this.q.set(q);
    this.scale.set(scale);
  }
}

/** After an in-place change of a weight's values: an int8 view of it is made again. */
export function int8WeightChanged(w: Tensor): void {
  if (w.storage instanceof Int8Storage) w.storage.refresh();
  int8Copies.delete(w);
}

/** Symmetric per-row int8 quantization of w [rows, cols] (Kernels.quantizeRowsI8): scale = max |w| / 127 per row
 *  (0 for a zero row), q = w / scale rounded half away from zero, within [-127, 127]. */
export function quantizeRowsInt8(w: Float32Array, rows: number, cols: number): { q: Int8Array; scale: Float32Array } {
  const q = new Int8Array(rows * cols);
  const scale = new Float32Array(rows);
  kernels().quantizeRowsI8(q, scale, w, rows, cols);
  return { q, scale };
}

let format: WeightFormat = 'f32';
// bf16 copies of weights read through linear() (the LM head, a tied embedding), made on first use
let copies = new WeakMap<Tensor, Uint16Array>();
// weights already held as bf16 by holdWeightsBf16 (their float32 copy freed)
const held = new WeakSet<Bf16Storage>();
// int8 copies of weights read through linear() (the LM head, a tied embedding), made on first use
let int8Copies = new WeakMap<Tensor, Int8Storage>();

export function weightFormat(): WeightFormat {
  return format;
}

/** Sets the weight format for every later inference forward in this process; returns the previous one. Back to
 *  'f32' drops the bf16 copies (weights already held as bf16 read back their rounded values). */
export function setWeightFormat(f: WeightFormat): WeightFormat {
  const prev = format;
  format = f;
  if (f !== 'bf16') copies = new WeakMap();
  if (f !== 'int8') int8Copies = new WeakMap();
  return prev;
}

/** The bf16 bits a frozen weight multiplies with under the 'bf16' format, else null (float32 as usual). */
export function inferenceBf16(w: Tensor): Uint16Array | null {
  if (format !== 'bf16' || w.requiresGrad) return null;
  if (w.storage instanceof Bf16Storage) return w.storage.bits;
  let bits = copies.get(w);
  if (!bits) {
    bits = lineAlignedUint16(w.size);
    kernels().f32ToBf16(bits, w.data, w.size);
    copies.set(w, bits);
  }
  return bits;
}

/** The int8 rows and scales a frozen 2-D weight multiplies with under the 'int8' format, else null. */
export function inferenceInt8(w: Tensor): Int8Storage | null {
  if (format !== 'int8' || w.requiresGrad || w.ndim !== 2) return null;
  if (w.storage instanceof Int8Storage) return w.storage;
  let st = int8Copies.get(w);
  if (!st) {
    const [rows, cols] = w.shape;
    const { q, scale } = quantizeRowsInt8(w.data, rows, cols);
    st = new Int8Storage(q, scale, cols);
    int8Copies.set(w, st);
  }
  return st;
}

/** Replaces each frozen 2-D layer weight by its int8 quantization (an Int8Storage: the float32 array is freed; a
 *  reader of `data` gets scale * q back). Returns the bytes freed. */
export function holdWeightsInt8(layers: { weight: Tensor }[]): number {
  let freed = 0;
  for (const layer of layers) {
    const w = layer.weight;
    if (w.requiresGrad || w.ndim !== 2 || w.storage instanceof Int8Storage) continue;
    const [rows, cols] = w.shape;
    const { q, scale } = quantizeRowsInt8(w.data, rows, cols);
    const t = new Tensor(new Int8Storage(q, scale, cols), w.shape, false);
    t.name = w.name;
    layer.weight = t;
    freed += (w.storage instanceof Bf16Storage ? 2 : 4) * w.size - w.size - 4 * rows;
  }
  return freed;
}

/** Replaces each frozen layer weight by its bf16 rounding (a Bf16Storage: the float32 array is freed, and a reader
 *  of `data` gets the rounded values back). Returns the bytes freed. */
export function holdWeightsBf16(layers: { weight: Tensor }[]): number {
  let freed = 0;
  for (const layer of layers) {
    const w = layer.weight;
    if (w.requiresGrad || (w.storage instanceof Bf16Storage && held.has(w.storage))) continue;
    const bits = lineAlignedUint16(w.size);
    kernels().f32ToBf16(bits, w.data, w.size);
    const storage = new Bf16Storage(bits);
    held.add(storage);
    const t = new Tensor(storage, w.shape, false);
    t.name = w.name;
    layer.weight = t;
    freed += w.storage instanceof Bf16Storage ? 0 : 2 * w.size;
  }
  return freed;
}
