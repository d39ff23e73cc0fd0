// KVCache.appendRows, the batched decode step's write into one row's cache: rows taken from an offset of the step's
// packed keys and values, a short run copied by a loop and a long one (a prompt chunk) by one copy, the same values
// either way; a write past the capacity or outside the source is refused.
import { describe, expect, it } from 'vitest';
import { KVCache } from '../../src/models/index.js';

const [Hkv, D] = [2, 8];
const R = Hkv * D;

function packed(rows: number, base: number): Float32Array {
  return Float32Array.from({ length: rows * R }, (_, i) => base + i * 0.25);
}

describe('KVCache.appendRows', () => {
  it('appends rows read from an offset, after what the cache holds, for short and long runs', () => {
    const cache = new KVCache(2, 1, 600, Hkv, D);
    const k = packed(520, 1);
    const v = packed(520, -1000);
    cache.appendRows(1, k, v, 3, 2); // two rows from row 3: the loop
    cache.length = 2;
    cache.appendRows(1, k, v, 5, 300); // 300 rows (4,800 values): one copy
    cache.length = 302;
    cache.appendRows(1, k, v, 519, 1); // the last row of the source
    const want = (src: Float32Array) => [...src.subarray(3 * R, 5 * R), ...src.subarray(5 * R, 305 * R), ...src.subarray(519 * R, 520 * R)];
    expect(Array.from(cache.layerK(1).subarray(0, 303 * R))).toEqual(want(k));
    expect(Array.from(cache.layerV(1).subarray(0, 303 * R))).toEqual(want(v));
    expect(cache.layerK(0).every((x) => x === 0)).toBe(true); // another layer untouched
    expect(cache.layerK(1)[303 * R]).toBe(0); // nothing past the rows written
  });

  it('refuses a write past the capacity, and rows outside the source', () => {
    const cache = new KVCache(1, 1, 4, Hkv, D);
    cache.length = 3;
    expect(() => cache.appendRows(0, packed(2, 0), packed(2, 0), 0, 2)).toThrow(/5 positions needed, capacity is 4/);
    expect(() => cache.appendRows(0, packed(2, 0), packed(2, 0), 1, 2)).toThrow(/2 whole rows of 16 values from row 1/);
    expect(() => cache.appendRows(0, packed(2, 0), packed(1, 0), 0, 2)).toThrow(/appendRows needs/);
    expect(cache.length).toBe(3);
    expect(cache.layerK(0).every((x) => x === 0)).toBe(true);
  });
});
