// KVCache.appendRows, the batched decode step's write into one row's cache: rows taken from an offset of the step's
// packed keys and values, a short run copied by a loop and a long one (a prompt chunk) by one copy, the same values
// either way; a write past the capacity or outside the source is refused. A cache held in bf16 rounds what it is
// given as f32ToBf16 does, hands the forward the widened values, and is the default beside bf16 and int8 weights.
import { describe, expect, it } from 'vitest';
import { KVCache, kvCacheFormat, setKvCacheFormat } from '../../src/models/index.js';
import { referenceKernels } from '../../src/kernels/index.js';
import { setWeightFormat, Tensor } from '../../src/tensor/index.js';

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

describe('a KV cache held in bf16', () => {
  /** the source values, with the ones rounding is easy to get wrong: ties to even, NaN, infinities, -0, the
   *  largest floats (rounding up to infinity) and subnormals */
  function tricky(rows: number): Float32Array {
    const x = packed(rows, 0.5).map((v, i) => v * (i % 3 === 0 ? -1.37 : 0.91));
    const u = new Uint32Array(x.buffer);
    const special = [0x3f808000, 0x3f818000, 0x3f80_8001, 0x7fc00000, 0x7f800001, 0xff800000, 0x7f800000, 0x80000000, 0x7f7fffff, 0x00000001, 0x807fffff];
    special.forEach((bits, i) => {
      u[i * 7] = bits;
    });
    return x;
  }
  const rounded = (x: Float32Array): Uint16Array => {
    const r = new Uint16Array(x.length);
    referenceKernels.f32ToBf16(r, x, x.length);
    return r;
  };

  it('rounds what appendRows writes as f32ToBf16 does, by the loop and by the copy, and reads as bits only', () => {
    const cache = new KVCache(2, 1, 600, Hkv, D, 'bf16');
    expect(cache.format).toBe('bf16');
    const [k, v] = [tricky(520), tricky(520).map((x) => -x)];
    cache.appendRows(1, k, v, 3, 2); // the loop
    cache.length = 2;
    cache.appendRows(1, k, v, 5, 300); // one call of the kernel
    const want = (src: Float32Array) => Array.from(rounded(src.subarray(3 * R, 305 * R)));
    expect(Array.from(cache.layerKBits(1).subarray(0, 302 * R))).toEqual(want(k));
    expect(Array.from(cache.layerVBits(1).subarray(0, 302 * R))).toEqual(want(v));
    expect(cache.layerKBits(0).every((x) => x === 0)).toBe(true);
    // every special value through the loop too (rows 0-4 hold them all), a row at a time as a decode step writes
    const loop = new KVCache(1, 1, 8, Hkv, D, 'bf16');
    for (let row = 0; row < 5; row++) {
      loop.appendRows(0, k, v, row, 1);
      loop.advance(1);
    }
    expect(Array.from(loop.layerKBits(0).subarray(0, 5 * R))).toEqual(Array.from(rounded(k.subarray(0, 5 * R))));
    expect(Array.from(loop.layerVBits(0).subarray(0, 5 * R))).toEqual(Array.from(rounded(v.subarray(0, 5 * R))));
    expect(() => cache.layerK(1)).toThrow(/read as float32, but the cache holds bf16 values/);
    expect(() => new KVCache(1, 1, 4, Hkv, D, 'f32').layerKBits(0)).toThrow(/read as bf16, but the cache holds float32 values/);
  });

  it('hands the forward the widened values of every position, each batch row its own, in half the bytes', () => {
    const [B, T1, T2] = [2, 3, 2];
    const f32 = new KVCache(1, B, 8, Hkv, D, 'f32');
    const bf16 = new KVCache(1, B, 8, Hkv, D, 'bf16');
    expect(bf16.bytes() * 2).toBe(f32.bytes());
    const chunk = (T: number, base: number) => Tensor.from(tricky(B * T).map((x, i) => (Number.isFinite(x) ? x + base * i : 0.25)), [B, T, Hkv, D]);
    const [k1, v1, k2, v2] = [chunk(T1, 1e-3), chunk(T1, -2e-3), chunk(T2, 3e-3), chunk(T2, 5e-4)];
    bf16.append(0, k1, v1, T1);
    bf16.advance(T1);
    const [k, v] = bf16.append(0, k2, v2, T2);
    expect(k.shape).toEqual([B, T1 + T2, Hkv, D]);
    const widen = (x: Float32Array): number[] => {
      const r = rounded(x);
      const w = new Float32Array(r.length);
      referenceKernels.bf16ToF32(w, r, r.length);
      return Array.from(w);
    };
    for (const [got, a, b] of [[k, k1, k2], [v, v1, v2]] as const) {
      for (let row = 0; row < B; row++) {
        const want = [...widen(a.data.subarray(row * T1 * R, (row + 1) * T1 * R)), ...widen(b.data.subarray(row * T2 * R, (row + 1) * T2 * R))];
        expect(Array.from(got.data.subarray(row * (T1 + T2) * R, (row + 1) * (T1 + T2) * R)), `batch row ${row}`).toEqual(want);
      }
    }
  });

  it('is what caches are created in by default beside bf16 and int8 weights, unless a format is set', () => {
    const prev = setWeightFormat('f32');
    try {
      expect(new KVCache(1, 1, 4, Hkv, D).format).toBe('f32');
      setWeightFormat('bf16');
      expect(new KVCache(1, 1, 4, Hkv, D).format).toBe('bf16');
      setWeightFormat('int8');
      expect(kvCacheFormat()).toBe('bf16');
      setKvCacheFormat('f32');
      expect(new KVCache(1, 1, 4, Hkv, D).format).toBe('f32');
      setWeightFormat('f32');
      setKvCacheFormat('bf16');
      expect(new KVCache(1, 1, 4, Hkv, D).format).toBe('bf16');
    } finally {
      setKvCacheFormat('auto');
      setWeightFormat(prev);
    }
  });
});
