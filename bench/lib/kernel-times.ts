// Wall time per kernel inside a bench worker: every kernel of the active set is wrapped so that each call adds its
// duration (and a count) to a table, which the worker reports per step. A scaling run compares these tables between
// thread counts, which names the kernels that do not speed up with more cores; the time a step spends outside every
// kernel (JavaScript, the tape, collections) is what no thread count shortens.
// The GEMMs are keyed by their shape (M x N x K and the transposes), since one kernel serves very different shapes.
import { kernels, useKernels, type Kernels } from '../../src/kernels/index.js';

/** Kernels whose calls are keyed by shape: (c, a, b, M, N, K, transA, transB, ...). */
const BY_SHAPE = new Set(['gemm', 'gemmBf16', 'gemmBf16Ld']);

export interface KernelClock {
  /** ms per kernel (and per GEMM shape) since the last take, and the number of calls; then starts afresh */
  take(): Record<string, { ms: number; calls: number }>;
}

/** Replaces the active kernels with timed wrappers around them (call once, after the model has loaded). */
export function timeKernels(): KernelClock {
  const base = kernels();
  const table = new Map<string, { ms: number; calls: number }>();
  const add = (key: string, ms: number): void => {
    const e = table.get(key);
    if (e) {
      e.ms += ms;
      e.calls++;
    } else table.set(key, { ms, calls: 1 });
  };
  const timed: Record<string, unknown> = {};
  for (const name of Object.keys(base) as (keyof Kernels)[]) {
    const f = base[name] as unknown;
    if (typeof f !== 'function') {
      timed[name] = f;
      continue;
    }
    const fn = f as (...args: unknown[]) => unknown;
    timed[name] = (...args: unknown[]): unknown => {
      const t0 = performance.now();
      const r = fn.apply(base, args);
      const ms = performance.now() - t0;
      add(BY_SHAPE.has(name) ? `${name} ${String(args[3])}x${String(args[4])}x${String(args[5])} ${args[6] ? 'T' : 'N'}${args[7] ? 'T' : 'N'}` : name, ms);
      return r;
    };
  }
  useKernels(timed as unknown as Kernels);
  return {
    take() {
      const out = Object.fromEntries([...table].map(([k, v]) => [k, { ...v }]));
      table.clear();
      return out;
    },
  };
}
