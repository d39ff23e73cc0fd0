// Native attention under several thread counts. The blocked backward takes one pass per (batch row, kv head)
// when there are at least half as many of those as threads, and two passes otherwise, so 1, 3 and 8 threads
// reach both paths on the cross-implementation shapes; each must match the reference and repeat bit for bit.
import { afterAll, describe, expect, it } from 'vitest';
import { referenceKernels } from '../../src/kernels/index.js';
import { loadNativeKernels, nativeBenchHooks } from '../../src/kernels/native.js';
import type { Kernels } from '../../src/kernels/types.js';
import { CROSS_CASES, compareOutputs } from './cross-cases.js';
import { Rng } from './helpers.js';

const native = loadNativeKernels().kernels;
const hooks = nativeBenchHooks();
const before = hooks?.info().threads ?? 1;

describe.skipIf(!native || !hooks)('native attention does not depend on the thread count beyond rounding', () => {
  afterAll(() => hooks?.setThreads(before));
  const { tol, configs } = CROSS_CASES.attention;

  it.each([1, 3, 8])('%i threads: matches the reference and repeats exactly', (threads) => {
    hooks?.setThreads(threads);
    for (const cfg of configs) {
      const got = cfg.run(native as Kernels, new Rng(cfg.seed));
      const want = cfg.run(referenceKernels, new Rng(cfg.seed));
      const { maxAbsDiff, scaledErr } = compareOutputs(got, want);
      expect(scaledErr, `${cfg.label}: max abs diff ${maxAbsDiff}`).toBeLessThanOrEqual(tol);
      const again = cfg.run(native as Kernels, new Rng(cfg.seed));
      expect(compareOutputs(again, got).maxAbsDiff, `${cfg.label} repeated`).toBe(0);
    }
  });
});
