// The report of a scaling run (bench:train --scale 2,16): the same training step at several thread counts, each
// in its own resident worker, stepping in turns. Speed-up and parallel efficiency are taken against the first
// count; the bar for many cores is 16 cores >= 0.6 x 8 x the 2-core figure, i.e. an efficiency of 0.6
// from 2 to 16 threads. With --kernel-times each worker also reports its wall time per kernel, which shows
// which kernels (and how much time outside every kernel) keep the step from scaling.
import { planThreads } from '../../src/kernels/cpu-plan.js';
import { pinSetting } from '../../src/kernels/native.js';
import { fmt, getNum, mib, printTable, type Json } from './harness.js';
import type { SideRun } from './lockstep.js';

/** The efficiency the many-core target asks for (0.6 x 8 x the 2-core figure at 16 cores). */
export const SCALING_BAR = 0.6;

/** `--scale 2,16`: two or more distinct thread counts >= 1, the first the baseline; a message on bad input. */
export function parseScale(raw: string): number[] | string {
  const counts = raw.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (counts.length < 2 || counts.some((n) => !Number.isInteger(n) || n < 1)) {
    return `--scale takes two or more thread counts separated by commas, the first the baseline (e.g. 2,16); got "${raw}"`;
  }
  if (new Set(counts).size !== counts.length) return `--scale: each thread count once (got "${raw}")`;
  return counts;
}

/** The median of the timed steps' times (the warm-up steps left out). */
export function medianStep(r: SideRun, warmup: number): number {
  const times = r.steps.slice(warmup).map((s) => getNum(s, 'step_s')).sort((a, b) => a - b);
  const mid = times.length >> 1;
  return times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
}

/** Tokens/s, speed-up and efficiency per thread count, the losses' agreement, and whether the bar is met. */
export function printScaling(counts: number[], runs: SideRun[], warmup: number, tokensPerStep: number): void {
  const plan = planThreads();
  const base = medianStep(runs[0], warmup);
  const rows = runs.map((r, i) => {
    const s = medianStep(r, warmup);
    const speedup = base / s;
    return [String(counts[i]), fmt(tokensPerStep / s), fmt(s, 3), `${fmt(speedup, 2)}x`, fmt(speedup / (counts[i] / counts[0]), 2),
      mib(getNum(r.result, 'max_rss_kib'))];
  });
  console.log('');
  printTable(['threads', 'tokens/s', 'median s/step', 'speed-up', 'efficiency', 'peak RSS'], rows);
  // every side trains the same adapter on the same batch: the losses show whether the thread count moves the numbers
  const losses = runs.map((r) => r.steps.map((s) => getNum(s, 'loss')));
  const diff = Math.max(...losses.slice(1).flatMap((l) => l.map((x, j) => Math.abs(x - losses[0][j]))));
  console.log(`losses per step at ${counts[0]} threads: ${losses[0].map((x) => x.toFixed(5)).join(' ')}; ` +
    `largest difference at another count: ${diff.toExponential(2)}`);
  const last = counts.length - 1;
  const eff = (base / medianStep(runs[last], warmup)) / (counts[last] / counts[0]);
  console.log(`this machine: ${plan.cpus} CPUs this process may use, ${plan.cores} physical cores` +
    `${plan.limit !== null ? `, a cgroup limit of ${+plan.limit.toFixed(2)} CPUs` : ''}; worker threads ` +
    `${pinSetting() === 'on' ? 'bound one per core (SHITATE_PIN_THREADS)' : 'not bound (SHITATE_PIN_THREADS=1 binds them)'}`);
  const room = plan.threads; // the physical cores within any cgroup limit: the default thread count
  const over = counts.filter((n) => n > room);
  if (over.length) {
    console.log(`\nscaling: not measurable here: ${over.join(', ')} threads exceed the ${room} physical cores this process ` +
      'can use (hyper-threads share a core\'s vector units, and a cgroup limit throttles): the figures above are not a scaling figure');
  } else {
    console.log(`\nscaling target (efficiency >= ${SCALING_BAR} from ${counts[0]} to ${counts[last]} threads; at 2 -> 16: ` +
      `>= ${SCALING_BAR} x 8 x the 2-core tokens/s): ${eff >= SCALING_BAR ? 'met' : 'NOT met'} (${fmt(eff, 2)})`);
  }
}

type KernelTable = Record<string, { ms: number; calls: number }>;

/** Per kernel (GEMMs per shape): the mean ms per timed step and calls per step, from the workers' STEP reports. */
function meanKernels(r: SideRun, warmup: number): Map<string, { ms: number; calls: number }> {
  const timed = r.steps.slice(warmup);
  const out = new Map<string, { ms: number; calls: number }>();
  for (const s of timed) {
    const t = (s as Json).kernels as KernelTable | undefined;
    if (!t) throw new Error('a step report carries no kernel times (the worker ran without --kernel-times)');
    for (const [k, v] of Object.entries(t)) {
      const e = out.get(k) ?? { ms: 0, calls: 0 };
      e.ms += v.ms / timed.length;
      e.calls += v.calls / timed.length;
      out.set(k, e);
    }
  }
  return out;
}

/** The kernels' wall time per step side by side (the top `top` by time on the last side), their speed-up from the
 *  first side to the last, and the time outside every kernel. */
export function printKernelTimes(labels: string[], runs: SideRun[], warmup: number, top = 25): void {
  const tables = runs.map((r) => meanKernels(r, warmup));
  const last = tables.length - 1;
  const keys = [...new Set(tables.flatMap((t) => [...t.keys()]))]
    .sort((a, b) => (tables[last].get(b)?.ms ?? 0) - (tables[last].get(a)?.ms ?? 0));
  const ms = (t: Map<string, { ms: number }>, k: string) => t.get(k)?.ms ?? 0;
  const speed = (a: number, b: number) => (last > 0 && b > 0 ? `${fmt(a / b, 2)}x` : '');
  const rows = keys.slice(0, top).map((k) => [k, fmt(tables[last].get(k)?.calls ?? 0, 0),
    ...tables.map((t) => fmt(ms(t, k), 1)), speed(ms(tables[0], k), ms(tables[last], k))]);
  const total = tables.map((t) => [...t.values()].reduce((s, v) => s + v.ms, 0));
  const steps = runs.map((r) => medianStep(r, warmup) * 1000);
  // outside: the median step less the mean time in kernels (the step's JavaScript, the tape, collections)
  const outside = steps.map((s, i) => s - total[i]);
  rows.push(['(every kernel)', '', ...total.map((v) => fmt(v, 1)), speed(total[0], total[last])]);
  rows.push(['(outside the kernels)', '', ...outside.map((v) => fmt(v, 1)), speed(outside[0], outside[last])]);
  console.log(`\nwall time per step in each kernel (ms; GEMMs by M x N x K and transposes; the top ${Math.min(top, keys.length)} of ${keys.length})`);
  printTable(['kernel', 'calls', ...labels, last > 0 ? 'speed-up' : ''], rows);
}
