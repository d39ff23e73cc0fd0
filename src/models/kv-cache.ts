// Key/value cache for incremental decoding: per layer [B, capacity, Hkv, D] buffers (Hkv and D may differ
// between layers); the model appends the new positions' keys and values and attends over the first `length`.
import { Tensor } from '../tensor/index.js';
import { ShitateError } from '../errors.js';

/** One layer's cached key/value row: Hkv heads of D values. */
export interface KVLayout {
  kvHeads: number;
  headDim: number;
}

export class KVCache {
  readonly batch: number;
  readonly capacity: number;
  length = 0;
  /** Hkv * D per layer */
  private readonly rowSizes: number[];
  private readonly k: Float32Array[];
  private readonly v: Float32Array[];

  /** `layers` layers of one layout, or one layout per layer. */
  constructor(layers: number | readonly KVLayout[], batch: number, capacity: number, Hkv = 0, D = 0) {
    const layouts = typeof layers === 'number' ? Array.from({ length: layers }, () => ({ kvHeads: Hkv, headDim: D })) : layers;
    this.batch = batch;
    this.capacity = capacity;
    this.rowSizes = layouts.map((l) => l.kvHeads * l.headDim);
    this.k = this.rowSizes.map((R) => new Float32Array(batch * capacity * R));
    this.v = this.rowSizes.map((R) => new Float32Array(batch * capacity * R));
  }

  /** Writes T new positions of layer l (k, v: [B, T, Hkv, D]) after the current length and returns views
   *  over all length+T positions, [B, length+T, Hkv, D] (a copy only when B > 1). */
  append(l: number, k: Tensor, v: Tensor, T: number): [Tensor, Tensor] {
    const { batch: B, capacity: cap } = this;
    const R = this.rowSizes[l];
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

  /** Called by the model after every layer appended: the new positions become part of the cache. */
  advance(T: number): void {
    this.length += T;
  }

  /** Forget positions from `length` on (e.g. to reuse a shared prompt prefix). */
  truncate(length: number): void {
    this.length = Math.min(this.length, Math.max(0, length));
  }

  bytes(): number {
    return 2 * this.rowSizes.reduce((a, R) => a + R, 0) * this.batch * this.capacity * 4;
  }
}
