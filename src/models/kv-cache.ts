// Generation state for incremental decoding, one entry per layer as the model declares it: attention layers keep
// keys and values [B, capacity, Hkv, D] (Hkv and D may differ between layers) and attend over the first `length`;
// recurrent layers of hybrid models (Qwen3.5's Gated DeltaNet, LFM2's short convolutions) keep a fixed-size state
// instead, so a decode step costs the same at any length.
// Keys and values are held as float32 or, in the 'bf16' format, rounded to bfloat16 (nearest even) as they are
// written: half the memory and half the bytes each decode step's attention reads, as transformers keeps the cache of
// a bf16 model and llama.cpp its f16 default. Attention then reads the widened values (exact), so a bf16 cache changes
// only the rounding of what is stored.
import { Tensor, lineAlignedFloat32, lineAlignedUint16, weightFormat } from '../tensor/index.js';
import { ShitateError } from '../errors.js';
import { kernels } from '../kernels/index.js';
import { bf16Bits } from '../kernels/ref/lowp.js';

export type KvCacheFormat = 'f32' | 'bf16';

/** The cache formats, for flags and config files. */
export const KV_CACHE_FORMATS: readonly KvCacheFormat[] = ['f32', 'bf16'];

let chosen: KvCacheFormat | 'auto' = 'auto';

/** The format later caches are created in when none is given (process-wide, like the weight format): the one set by
 *  setKvCacheFormat, else ('auto') bf16 beside bf16 or int8 weights (what transformers keeps for a bf16 model, and
 *  llama.cpp's f16 default) and float32 beside float32 weights. `decodesInRows` false: for a model whose own forward
 *  decodes (no batched row decoder), where 'auto' keeps float32, since the forward is handed the whole cache widened
 *  at every step (a bf16 cache then costs a copy per layer and token; asked for by name, it is still bf16). */
export function kvCacheFormat(decodesInRows = true): KvCacheFormat {
  if (chosen !== 'auto') return chosen;
  return decodesInRows && weightFormat() !== 'f32' ? 'bf16' : 'f32';
}

/** Sets the format of caches created from now on ('auto': follow the weight format); returns the previous setting. */
export function setKvCacheFormat(f: KvCacheFormat | 'auto'): KvCacheFormat | 'auto' {
  const prev = chosen;
  chosen = f;
  return prev;
}

/** One layer's cached key/value row: Hkv heads of D values. */
export interface KVLayout {
  kvHeads: number;
  headDim: number;
}

/** A layer that carries recurrent state instead of keys and values. */
export interface RecurrentLayout {
  /** a causal depthwise convolution's last kernel-1 inputs, [B, kernel-1, channels] */
  conv: { channels: number; kernel: number } | null;
  /** a gated delta rule's state, [B, heads, keyDim, valueDim] */
  delta: { heads: number; keyDim: number; valueDim: number } | null;
}

export type LayerLayout = KVLayout | RecurrentLayout;

function isRecurrent(l: LayerLayout): l is RecurrentLayout {
  return 'conv' in l || 'delta' in l;
}

/** Values up to which appendRows copies by a loop: below this a view and a copy cost more than the loop. */
const APPEND_LOOP_MAX = 4096;

export class KVCache {
  readonly batch: number;
  readonly capacity: number;
  length = 0;
  /** how keys and values are held: float32, or rounded to bf16 */
  readonly format: KvCacheFormat;
  /** Hkv * D per layer (0 for recurrent layers) */
  private readonly rowSizes: number[];
  /** a float32 cache's keys and values per layer (empty lists in a bf16 cache) */
  private readonly k: Float32Array[];
  private readonly v: Float32Array[];
  /** a bf16 cache's keys and values per layer (empty lists in a float32 cache) */
  private readonly k16: Uint16Array[];
  private readonly v16: Uint16Array[];
  /** per layer: conv history and delta-rule state (null where the layer has none) */
  private readonly conv: (Float32Array | null)[];
  private readonly delta: (Float32Array | null)[];

  /** `layers` attention layers of one layout, or one layout per layer (attention or recurrent); keys and values in
   *  `format` (default: the process's, kvCacheFormat()). */
  constructor(layers: number | readonly LayerLayout[], batch: number, capacity: number, Hkv = 0, D = 0,
    format: KvCacheFormat = kvCacheFormat()) {
    const layouts: readonly LayerLayout[] = typeof layers === 'number'
      ? Array.from({ length: layers }, () => ({ kvHeads: Hkv, headDim: D }))
      : layers;
    this.batch = batch;
    this.capacity = capacity;
    this.rowSizes = layouts.map((l) => (isRecurrent(l) ? 0 : l.kvHeads * l.headDim));
    // on cache lines: attention reads every cached row once per query and head, 64 bytes at a time
    this.format = format;
    const f32 = format === 'f32';
    this.k = f32 ? this.rowSizes.map((R) => lineAlignedFloat32(batch * capacity * R)) : [];
    this.v = f32 ? this.rowSizes.map((R) => lineAlignedFloat32(batch * capacity * R)) : [];
    this.k16 = f32 ? [] : this.rowSizes.map((R) => lineAlignedUint16(batch * capacity * R));
    this.v16 = f32 ? [] : this.rowSizes.map((R) => lineAlignedUint16(batch * capacity * R));
    this.conv = layouts.map((l) => (isRecurrent(l) && l.conv ? new Float32Array(batch * (l.conv.kernel - 1) * l.conv.channels) : null));
    this.delta = layouts.map((l) => (isRecurrent(l) && l.delta ? new Float32Array(batch * l.delta.heads * l.delta.keyDim * l.delta.valueDim) : null));
  }

  /** Writes T new positions of layer l (k, v: [B, T, Hkv, D]) after the current length and returns views
   *  over all length+T positions, [B, length+T, Hkv, D] (a copy only when B > 1). */
  append(l: number, k: Tensor, v: Tensor, T: number): [Tensor, Tensor] {
    const { batch: B, capacity: cap } = this;
    const R = this.rowSizes[l];
    if (R === 0 && k.size > 0) throw new ShitateError('E_INTERNAL', `KV cache: layer ${l} carries recurrent state, not keys and values`, 'this is a bug in shitate; please report it');
    const Tk = this.length + T;
    if (Tk > cap) {
      throw new ShitateError('E_CONTEXT', `KV cache: ${Tk} positions needed, capacity is ${cap}`,
        'lower max_new_tokens or shorten the prompt so prompt + output fits the context');
    }
    const shape = [B, Tk, R / (k.shape[3] ?? 1), k.shape[3]];
    if (this.format === 'bf16') return this.appendBf16(l, k, v, T, shape);
    const out: Tensor[] = [];
    for (const [buf, src] of [[this.k[l], k], [this.v[l], v]] as const) {
      for (let b = 0; b < B; b++) buf.set(src.data.subarray(b * T * R, (b + 1) * T * R), (b * cap + this.length) * R);
      if (B === 1) out.push(Tensor.from(buf.subarray(0, Tk * R), shape));
      else {
        const dense = new Float32Array(B * Tk * R);
        for (let b = 0; b < B; b++) dense.set(buf.subarray(b * cap * R, (b * cap + Tk) * R), b * Tk * R);
        out.push(Tensor.from(dense, shape));
      }
    }
    return [out[0], out[1]];
  }

  /** append() on a bf16 cache: the new positions rounded in, all length+T positions widened into dense tensors. */
  private appendBf16(l: number, k: Tensor, v: Tensor, T: number, shape: number[]): [Tensor, Tensor] {
    const { batch: B, capacity: cap } = this;
    const R = this.rowSizes[l];
    const Tk = this.length + T;
    const K = kernels();
    const out: Tensor[] = [];
    for (const [buf, src] of [[this.k16[l], k], [this.v16[l], v]] as const) {
      const dense = new Float32Array(B * Tk * R);
      for (let b = 0; b < B; b++) {
        const at = (b * cap + this.length) * R;
        K.f32ToBf16(buf.subarray(at, at + T * R), src.data.subarray(b * T * R, (b + 1) * T * R), T * R);
        K.bf16ToF32(dense.subarray(b * Tk * R, (b + 1) * Tk * R), buf.subarray(b * cap * R, (b * cap + Tk) * R), Tk * R);
      }
      out.push(Tensor.from(dense, shape));
    }
    return [out[0], out[1]];
  }

  /** Writes T new positions of layer l after the current length of a batch-1 cache, read from k and v ([.., Hkv * D]
   *  rows) starting at row `from`. A decode step's few values are copied by a loop and a prompt chunk's by one
   *  copy, without making views (the batched step appends every row of every layer). */
  appendRows(l: number, k: Float32Array, v: Float32Array, from: number, T: number): void {
    const R = this.rowSizes[l];
    const src = from * R;
    const n = T * R;
    if (this.batch !== 1 || R === 0 || !Number.isInteger(T) || T < 1 || !Number.isInteger(from) || from < 0 ||
      src + n > k.length || src + n > v.length) {
      throw new ShitateError('E_INTERNAL', `KV cache: appendRows needs a batch-1 attention layer and ${T} whole rows of ${R} values from row ${from}, got batch ${this.batch} and ${k.length}/${v.length} values`,
        'this is a bug in shitate; please report it');
    }
    if (this.length + T > this.capacity) {
      throw new ShitateError('E_CONTEXT', `KV cache: ${this.length + T} positions needed, capacity is ${this.capacity}`,
        'lower max_new_tokens or shorten the prompt so prompt + output fits the context');
    }
    const dst = this.length * R;
    if (this.format === 'bf16') {
      this.appendRowsBf16(l, k, v, src, dst, n);
      return;
    }
    const dk = this.k[l];
    const dv = this.v[l];
    if (n <= APPEND_LOOP_MAX) {
      for (let i = 0; i < n; i++) {
        dk[dst + i] = k[src + i];
        dv[dst + i] = v[src + i];
      }
    } else {
      dk.set(k.subarray(src, src + n), dst);
      dv.set(v.subarray(src, src + n), dst);
    }
  }

  /** appendRows into a bf16 cache: n values from src rounded in at dst (a loop for a decode step's few values). */
  private appendRowsBf16(l: number, k: Float32Array, v: Float32Array, src: number, dst: number, n: number): void {
    const dk = this.k16[l];
    const dv = this.v16[l];
    if (n <= APPEND_LOOP_MAX) {
      for (let i = 0; i < n; i++) { // the rounding of Kernels.f32ToBf16
        dk[dst + i] = bf16Bits(k[src + i]);
        dv[dst + i] = bf16Bits(v[src + i]);
      }
    } else {
      const K = kernels();
      K.f32ToBf16(dk.subarray(dst, dst + n), k.subarray(src, src + n), n);
      K.f32ToBf16(dv.subarray(dst, dst + n), v.subarray(src, src + n), n);
    }
  }

  /** Layer l's whole key buffer of a float32 cache ([batch, capacity, Hkv, D]; the first `length` positions are
   *  valid). */
  layerK(l: number): Float32Array {
    return this.f32Layer(this.k, l);
  }

  /** Layer l's whole value buffer of a float32 cache, as layerK. */
  layerV(l: number): Float32Array {
    return this.f32Layer(this.v, l);
  }

  /** Layer l's whole key and value buffers of a float32 cache ([batch, capacity, Hkv, D]; the first `length`
   *  positions are valid). */
  layerKV(l: number): { k: Float32Array; v: Float32Array } {
    return { k: this.layerK(l), v: this.layerV(l) };
  }

  /** Layer l's whole key buffer of a bf16 cache, as bf16 bits (layout as layerK). */
  layerKBits(l: number): Uint16Array {
    return this.bf16Layer(this.k16, l);
  }

  /** Layer l's whole value buffer of a bf16 cache, as bf16 bits. */
  layerVBits(l: number): Uint16Array {
    return this.bf16Layer(this.v16, l);
  }

  private f32Layer(of: Float32Array[], l: number): Float32Array {
    if (this.format !== 'f32') throw this.wrongFormat('float32', l);
    return of[l];
  }

  private bf16Layer(of: Uint16Array[], l: number): Uint16Array {
    if (this.format !== 'bf16') throw this.wrongFormat('bf16', l);
    return of[l];
  }

  private wrongFormat(want: string, l: number): ShitateError {
    return new ShitateError('E_INTERNAL', `KV cache: layer ${l} read as ${want}, but the cache holds ${this.format === 'f32' ? 'float32' : 'bf16'} values`,
      'this is a bug in shitate; please report it');
  }

  /** Layer l's convolution history [B, kernel-1, channels], read and updated in place by the model. */
  convState(l: number): Float32Array {
    return this.state(this.conv, l, 'convolution history');
  }

  /** Layer l's delta-rule state [B, heads, keyDim, valueDim], read and updated in place by the model. */
  deltaState(l: number): Float32Array {
    return this.state(this.delta, l, 'delta-rule state');
  }

  private state(of: (Float32Array | null)[], l: number, what: string): Float32Array {
    const s = of[l];
    if (!s) throw new ShitateError('E_INTERNAL', `cache: layer ${l} has no ${what}`, 'this is a bug in shitate; please report it');
    return s;
  }

  /** Whether some layer carries recurrent state (which cannot be rewound to an earlier position). */
  get recurrent(): boolean {
    return this.conv.some((s) => s !== null) || this.delta.some((s) => s !== null);
  }

  /** Called by the model after every layer appended: the new positions become part of the cache. */
  advance(T: number): void {
    this.length += T;
  }

  /** Forget positions from `length` on (e.g. to reuse a shared prompt prefix). A recurrent state folds in every
   *  position it saw, so it can only be reset to the start (length 0). */
  truncate(length: number): void {
    const next = Math.min(this.length, Math.max(0, length));
    if (next === this.length) return;
    if (this.recurrent && next > 0) {
      throw new ShitateError('E_CACHE', `cache: expected to go back to position 0 only (recurrent layers keep no per-position state), found a request for ${next} of ${this.length} positions`,
        'start again from an empty cache (length 0) and feed the prefix once more');
    }
    if (next === 0) for (const s of [...this.conv, ...this.delta]) s?.fill(0);
    this.length = next;
  }

  bytes(): number {
    const kv = 2 * this.rowSizes.reduce((a, R) => a + R, 0) * this.batch * this.capacity * (this.format === 'bf16' ? 2 : 4);
    return [...this.conv, ...this.delta].reduce((a, s) => a + (s ? s.length * 4 : 0), kv);
  }
}
