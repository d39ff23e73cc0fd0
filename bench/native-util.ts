// Shared benchmark helpers: load the native addon (or exit with why not), time a call robustly, print tables.
import { loadNativeKernels, nativeBenchHooks, type NativeBenchHooks } from '../src/kernels/native.js';
import type { Kernels } from '../src/kernels/types.js';

export interface Native {
  kernels: Kernels;
  hooks: NativeBenchHooks;
}

/** The native kernels with SHITATE_THREADS defaulting to 2 (set before the addon loads), or exit 1. */
export function loadNative(): Native {
  process.env.SHITATE_THREADS ??= '2';
  const load = loadNativeKernels();
  const hooks = nativeBenchHooks();
  if (!load.kernels || !hooks) {
    console.error(`native kernels unavailable: ${load.error ?? 'unknown'}; build them with node scripts/build-native.mjs`);
    process.exit(1);
  }
  const info = hooks.info();
  console.log(`native: ${info.blas} (${info.coreType}), ${info.threads} threads, OpenMP ${info.openmp ? 'on' : 'off'}`);
  return { kernels: load.kernels, hooks };
}

/** Seconds per call: each sample runs `fn` enough times to last ~`sampleMs`; returns the median and best
 *  over `samples` samples after one warm-up sample. */
export function timeCall(fn: () => void, samples = 9, sampleMs = 20): { median: number; best: number } {
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    const ms = performance.now() - t0;
    if (ms >= sampleMs || reps >= 1 << 20) break;
    reps = Math.max(reps * 2, Math.ceil((reps * sampleMs) / Math.max(ms, 1e-3)));
  }
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    times.push((performance.now() - t0) / 1000 / reps);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], best: times[0] };
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** Seconds per call of `a` and of `b`, timed alternately in rounds so frequency changes and other processes
 *  hit both sides alike; each side's best sample counts (the least disturbed one). BENCH_ROUNDS (default 3)
 *  adds rounds on a busy machine. */
export function timePair(a: () => void, b: () => void, rounds = ROUNDS): [number, number] {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let r = 0; r < rounds; r++) {
    ta.push(timeCall(a, 5).best);
    tb.push(timeCall(b, 5).best);
  }
  return [Math.min(...ta), Math.min(...tb)];
}

export function randomArray(n: number): Float32Array {
  const out = new Float32Array(n);
  let s = 0x12345678;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}
