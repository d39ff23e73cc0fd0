// The format frozen weights are held in for inference (generation and serving). 'f32' (default) multiplies the
// float32 weights. 'bf16' rounds every frozen weight to bfloat16 once (nearest even) and multiplies r(x) by it with
// float32 sums and float32 outputs (gemmBf16): a decode step streams every weight once, so half the bytes per
// token; prefill runs on the bf16 GEMM. Training never uses it: a layer whose output needs a gradient keeps float32.
import { Tensor } from './tensor.js';
import { Bf16Storage } from './lowp.js';
import { kernels } from '../kernels/index.js';

export type WeightFormat = 'f32' | 'bf16';

let format: WeightFormat = 'f32';
// bf16 copies of weights read through linear() (the LM head, a tied embedding), made on first use
let copies = new WeakMap<Tensor, Uint16Array>();
// weights already held as bf16 by holdWeightsBf16 (their float32 copy freed)
const held = new WeakSet<Bf16Storage>();

export function weightFormat(): WeightFormat {
  return format;
}

/** Sets the weight format for every later inference forward in this process; returns the previous one. Back to
 *  'f32' drops the bf16 copies (weights already held as bf16 read back their rounded values). */
export function setWeightFormat(f: WeightFormat): WeightFormat {
  const prev = format;
  format = f;
  if (f === 'f32') copies = new WeakMap();
  return prev;
}

/** The bf16 bits a frozen weight multiplies with under the 'bf16' format, else null (float32 as usual). */
export function inferenceBf16(w: Tensor): Uint16Array | null {
  if (format !== 'bf16' || w.requiresGrad) return null;
  if (w.storage instanceof Bf16Storage) return w.storage.bits;
  let bits = copies.get(w);
  if (!bits) {
    bits = new Uint16Array(w.size);
    kernels().f32ToBf16(bits, w.data, w.size);
    copies.set(w, bits);
  }
  return bits;
}

/** Replaces each frozen layer weight by its bf16 rounding (a Bf16Storage: the float32 array is freed, and a reader
 *  of `data` gets the rounded values back). Returns the bytes freed. */
export function holdWeightsBf16(layers: { weight: Tensor }[]): number {
  let freed = 0;
  for (const layer of layers) {
    const w = layer.weight;
    if (w.requiresGrad || (w.storage instanceof Bf16Storage && held.has(w.storage))) continue;
    const bits = new Uint16Array(w.size);
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
