// The native addon loads (required when SHITATE_REQUIRE_NATIVE=1, otherwise it loads or says why not),
// reports sane info, works on subarray views in place, and rejects bad buffers with an Error naming the kernel.
import { describe, expect, it } from 'vitest';
import { loadNativeKernels, nativeBenchHooks } from '../src/kernels/native.js';

const load = loadNativeKernels();
const k = load.kernels;
const hooks = nativeBenchHooks();

describe('native addon', () => {
  it('loads, or reports a reason', () => {
    if (process.env.SHITATE_REQUIRE_NATIVE === '1') {
      expect(k, `native kernels required but missing: ${load.error ?? ''}`).not.toBeNull();
    }
    if (k) {
      expect(load.error).toBeNull();
      expect(k.name).toBe('native');
      expect(hooks).not.toBeNull();
    } else {
      expect(typeof load.error).toBe('string');
      expect((load.error ?? '').length).toBeGreaterThan(0);
      expect(load.info).toBeNull();
      expect(hooks).toBeNull();
    }
  });

  it('reports BLAS, core, threads and OpenMP', () => {
    if (!k || !load.info) return expect(load.info).toBeNull();
    const info = load.info;
    expect(info.blas.length).toBeGreaterThan(0);
    expect(typeof info.coreType).toBe('string');
    expect(Number.isInteger(info.threads) && info.threads >= 1).toBe(true);
    expect(typeof info.openmp).toBe('boolean');
    expect(hooks?.info()).toEqual(info);
  });

  it('setThreads changes the count, and sumSquares does not depend on it', () => {
    if (!k || !hooks) return expect(hooks).toBeNull();
    const before = hooks.info().threads;
    const x = Float32Array.from({ length: 300_001 }, (_, i) => Math.sin(i) * 3);
    hooks.setThreads(1);
    expect(hooks.info().threads).toBe(1);
    const one = k.sumSquares(x, x.length);
    hooks.setThreads(2);
    const two = k.sumSquares(x, x.length);
    hooks.setThreads(before);
    expect(hooks.info().threads).toBe(before);
    expect(two).toBe(one);
    expect(() => hooks.setThreads(0)).toThrow(/setThreads/);
  });

  it('works in place on subarray views (no copies)', () => {
    if (!k) return expect(load.error).toBeTruthy();
    const buf = Float32Array.from({ length: 10 }, (_, i) => i + 1);
    const view = buf.subarray(3, 7); // 4, 5, 6, 7
    k.scale(view, view, 2, 4);
    expect(Array.from(buf)).toEqual([1, 2, 3, 8, 10, 12, 14, 8, 9, 10]);
    const dst = new Float32Array(4);
    hooks?.memcpyBench(dst, view, 4);
    expect(Array.from(dst)).toEqual([8, 10, 12, 14]);
  });

  it('throws an Error naming the kernel and the argument for short or mistyped buffers', () => {
    if (!k) return expect(load.error).toBeTruthy();
    const f = (n: number): Float32Array => new Float32Array(n);
    const out = f(3).fill(7);
    expect(() => k.add(out, f(4), f(4), 4, 0)).toThrow(/kernel add: argument out is too short: needs 4 elements, has 3/);
    expect(Array.from(out)).toEqual([7, 7, 7]); // nothing written on failure
    expect(() => k.gemm(f(6), f(5), f(6), 1, 2, 3, 3, false, false, 0, 0, 0)).toThrow(/gemm: argument a .*needs 6.*M=2/);
    expect(() => k.rmsnorm(f(8), f(2), f(8), f(3), 2, 4, 1e-5)).toThrow(/rmsnorm: argument w/);
    const wrongType = new Float64Array(4) as unknown as Float32Array;
    expect(() => k.silu(f(4), wrongType, 4)).toThrow(/silu: argument x must be a Float32Array, got a Float64Array/);
    expect(() => k.embedding(f(8), f(8), new Int32Array([0, 2]), 2, 4)).toThrow(/embedding: ids\[1\] = 2 is outside \[0, 2\)/);
    expect(() => k.crossEntropy(f(1), null, f(5), new Int32Array([5]), 1, 5, 1)).toThrow(/crossEntropy: targets\[0\]/);
    expect(() => k.attention(f(12), f(3), f(12), f(8), f(8), null, null, 1, 1, 1, 3, 2, 4, 1, 1, 0, 0))
      .toThrow(/attention: H must be a multiple of Hkv/);
    expect(() => k.dropout(f(2), f(2), -1, 0.1, 1)).toThrow(/dropout: argument n must be an integer/);
  });
});
