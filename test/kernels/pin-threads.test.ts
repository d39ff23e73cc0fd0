// Thread placement (SHITATE_PIN_THREADS=1): the loader binds worker i of the kernels' thread pools (OpenMP's team,
// OpenBLAS's workers, the decode-row helpers) to the i-th CPU of placementCpus(), one physical core each first, and
// leaves node's main thread where it was; pinThreads with no CPUs undoes it. Checked from each thread's allowed CPUs
// in /proc, in a child process of its own (the binding is process-wide and read when the addon loads).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadNativeKernels, nativeBenchHooks } from '../../src/kernels/native.js';
import { parseCpuList, placementCpus } from '../../src/kernels/cpu-plan.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const native = loadNativeKernels().kernels;
const linux = process.platform === 'linux' && fs.existsSync('/proc/self/task');

interface Report {
  placement: { pinned: boolean; why: string; cpus?: number[] };
  main: number;
  pinned: { id: number; cpus: string }[];
  unpinned: { id: number; cpus: string }[];
}

function run(env: Record<string, string>): Report {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures/pin-threads.ts')],
    { cwd: path.resolve(here, '../..'), encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

describe.runIf(native !== null && linux)('SHITATE_PIN_THREADS', () => {
  const order = placementCpus() as number[];
  const own = fs.readFileSync('/proc/self/status', 'utf8');
  const allowed = /^Cpus_allowed_list:\s*(\S+)/m.exec(own)?.[1] ?? '';

  it('binds each worker thread to its CPU, leaves the main thread alone, and unbinds on request', () => {
    const r = run({ SHITATE_PIN_THREADS: '1', SHITATE_THREADS: '3' });
    const want = [0, 1, 2].map((i) => order[i % order.length]);
    expect(r.placement).toMatchObject({ pinned: true, cpus: want });
    expect(r.placement.why).toBe(`workers 1-2 of each pool bound by SHITATE_PIN_THREADS to CPUs ${want[1]}, ${want[2]} in turn (the calling thread is not bound)${order.length < 3 ? `; 3 threads share ${order.length === 1 ? 'one CPU' : `${order.length} CPUs`}` : ''}`);
    const main = (list: Report['pinned']) => list.find((t) => t.id === r.main)?.cpus;
    expect(main(r.pinned), 'the main thread').toBe(allowed);
    // worker i of each pool on CPU want[i]: an OpenMP worker, a decode-row helper and (with OpenBLAS) a BLAS worker
    const pools = nativeBenchHooks()?.info().blas.startsWith('OpenBLAS') ? 3 : 2;
    const counts = new Map<number, number>();
    for (const cpu of [want[1], want[2]]) counts.set(cpu, (counts.get(cpu) ?? 0) + pools);
    for (const [cpu, n] of counts) expect(r.pinned.filter((t) => t.cpus === String(cpu)).length, `threads bound to CPU ${cpu}`).toBe(n);
    // unbound: every thread may again use what the process was given
    const wide = parseCpuList(allowed)?.length ?? 0;
    if (wide > 1) expect(r.unpinned.filter((t) => t.cpus !== allowed), 'threads still bound').toEqual([]);
  });

  it('binds nothing unless asked, and says why for a value it does not understand', () => {
    const off = run({ SHITATE_PIN_THREADS: '0', SHITATE_THREADS: '2' });
    expect(off.placement.pinned).toBe(false);
    if ((parseCpuList(allowed)?.length ?? 0) > 1) expect(off.pinned.filter((t) => t.cpus !== allowed)).toEqual([]);
    const odd = run({ SHITATE_PIN_THREADS: 'Sometimes', SHITATE_THREADS: '2' });
    expect(odd.placement).toMatchObject({ pinned: false });
    expect(odd.placement.why).toMatch(/SHITATE_PIN_THREADS=Sometimes is not understood \(1 binds each worker thread to a core of its own, 0 does not\)/);
  });
});
