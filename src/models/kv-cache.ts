// Key/value cache for incremental decoding: per layer [B, capacity, Hkv, D] buffers; the model appends the
// new positions' rotated keys and values and attends over the first `length` positions.
import { Tensor } from '../tensor/index.js';
import { ShitateError } from '../errors.js';

export class KVCache {
  readonly batch: number;
  readonly capacity: number;
  readonly rowSize: number; // Hkv * D
  length = 0;
  private readonly k: Float32Array[];
  private readonly v: Float32Array[];

  constructor(layers: number, batch: number, capacity: number, Hkv: number, D: number) {
    this.batch = batch;
    this.capacity = capacity;
    this.rowSize = Hkv * D;
    this.k = Array.from({ length: layers }, () => new Float32Array(batch * capacity * Hkv * D));
    this.v = Array.from({ length: layers }, () => new Float32Array(batch * capacity * Hkv * D));
  }

  /** Writes T new positions of layer l (k, v: [B, T, Hkv, D]) after the current length and returns views
   *  over all length+T positions, [B, length+T, Hkv, D] (a copy only when B > 1). */
  append(l: number, k: Tensor, v: Tensor, T: number): [Tensor, Tensor] {
    const { batch: B, capacity: cap, rowSize: R } = this;
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
    return 2 * this.k.length * this.batch * this.capacity * this.rowSize * 4;
  }
}
