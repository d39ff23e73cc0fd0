// lineOffset (where a typed array's first element lies relative to a 64-byte cache line) and lineAlignedUint16, which
// places the bf16 weight copies of --weights bf16 on a cache line.
import { describe, expect, it } from 'vitest';
import { referenceKernels } from '../../src/kernels/index.js';
import { loadNativeKernels } from '../../src/kernels/native.js';
import { lineAlignedFloat32, lineAlignedUint16 } from '../../src/tensor/aligned.js';
import { kernels } from '../../src/kernels/index.js';
import { KVCache } from '../../src/models/kv-cache.js';
import { Tensor } from '../../src/tensor/index.js';

const native = loadNativeKernels().kernels;

describe.runIf(native !== null)('native lineOffset', () => {
  it('reports the byte offset of a view past its cache line, moving with the view', () => {
    const k = native!;
    const base = new Float32Array(1000);
    const off = k.lineOffset(base);
    expect(off).toBeGreaterThanOrEqual(0);
    expect(off).toBeLessThan(64);
    for (const at of [1, 3, 16, 17, 250]) expect(k.lineOffset(base.subarray(at))).toBe((off + 4 * at) % 64);
    expect(k.lineOffset(new Int8Array(base.buffer, 5))).toBe((off + 5) % 64);
    expect(() => k.lineOffset({} as unknown as ArrayBufferView)).toThrow(/typed array/);
  });
});

describe('lineAlignedUint16 and lineAlignedFloat32', () => {
  it('give n zeros starting on a cache line, for small and large n', () => {
    for (const n of [1, 31, 100, 40_000, 3_000_000]) for (const x of [lineAlignedUint16(n), lineAlignedFloat32(n)]) {
      expect(x.length).toBe(n);
      expect(kernels().lineOffset(x)).toBe(0);
      expect(x.every((v) => v === 0)).toBe(true);
      x[n - 1] = 7; // the whole view is writable inside its array
      expect(x.byteOffset + x.BYTES_PER_ELEMENT * n).toBeLessThanOrEqual(x.buffer.byteLength);
    }
  });

  it('reference lineOffset is 0: plain loops need no placement', () => {
    expect(referenceKernels.lineOffset(new Float32Array(9).subarray(3))).toBe(0);
  });
});

describe.runIf(native !== null)('the KV cache on cache lines', () => {
  it('keeps each layer\'s keys and values on a cache line (attention reads every cached row per query)', () => {
    const cache = new KVCache(3, 1, 40, 3, 64);
    const kv = Tensor.from(new Float32Array(5 * 3 * 64).fill(1), [1, 5, 3, 64]);
    for (let l = 0; l < 3; l++) {
      const [k, v] = cache.append(l, kv, kv, 5);
      expect(kernels().lineOffset(k.data), `layer ${l} keys`).toBe(0);
      expect(kernels().lineOffset(v.data), `layer ${l} values`).toBe(0);
    }
  });
});
