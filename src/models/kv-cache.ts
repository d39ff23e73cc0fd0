// Generation state for incremental decoding, one entry per layer as the model declares it: attention layers keep
// keys and values [B, capacity, Hkv, D] (Hkv and D may differ between layers) and attend over the first `length`;
// recurrent layers of hybrid models (Qwen3.5's Gated DeltaNet, LFM2's short convolutions) keep a fixed-size state
// instead, so a decode step costs the same at any length.
import { Tensor, lineAlignedFloat32 } from '../tensor/index.js';
import { ShitateError } from '../errors.js';

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
  /** Hkv * D per layer (0 for recurrent layers) */
  private readonly rowSizes: number[];
  private readonly k: Float32Array[];
  private readonly v: Float32Array[];
  /** per layer: conv history and delta-rule state (null where the layer has none) */
  private readonly conv: (Float32Array | null)[];
  private readonly delta: (Float32Array | null)[];

  /** `layers` attention layers of one layout, or one layout per layer (attention or recurrent). */
  constructor(layers: number | readonly LayerLayout[], batch: number, capacity: number, Hkv = 0, D = 0) {
    const layouts: readonly LayerLayout[] = typeof layers === 'number'
      ? Array.from({ length: layers }, () => ({ kvHeads: Hkv, headDim: D }))
      : layers;
    this.batch = batch;
    this.capacity = capacity;
    this.rowSizes = layouts.map((l) => (isRecurrent(l) ? 0 : l.kvHeads * l.headDim));
    // on cache lines: attention reads every cached row once per query and head, 64 bytes at a time
    this.k = this.rowSizes.map((R) => lineAlignedFloat32(batch * capacity * R));
    this.v = this.rowSizes.map((R) => lineAlignedFloat32(batch * capacity * R));
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
    const dk = this.k[l];
    const dv = this.v[l];
    const dst = this.length * R;
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

  /** Layer l's whole key buffer ([batch, capacity, Hkv, D]; the first `length` positions are valid). */
  layerK(l: number): Float32Array {
    return this.k[l];
  }

  /** Layer l's whole value buffer, as layerK. */
  layerV(l: number): Float32Array {
    return this.v[l];
  }

  /** Layer l's whole key and value buffers ([batch, capacity, Hkv, D]; the first `length` positions are valid). */
  layerKV(l: number): { k: Float32Array; v: Float32Array } {
    return { k: this.k[l], v: this.v[l] };
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
    const kv = 2 * this.rowSizes.reduce((a, R) => a + R, 0) * this.batch * this.capacity * 4;
    return [...this.conv, ...this.delta].reduce((a, s) => a + (s ? s.length * 4 : 0), kv);
  }
}
