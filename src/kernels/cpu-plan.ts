// How many threads the kernels use when SHITATE_THREADS does not say: one per physical core among the CPUs this
// process may run on, and no more than a cgroup CPU limit allows. Two hardware threads of one core share its
// vector units, so a second thread per core adds little to GEMMs and attention and costs synchronisation at every
// parallel region (PyTorch and llama.cpp also default to physical cores); and a container limited to 2 CPUs on a
// 64-CPU host (docker --cpus 2) gets throttled to a crawl by 64 threads, each region waiting for its slowest one.
// Linux is read through /proc/self/status (the CPUs allowed), /sys/devices/system/cpu/cpuN/topology (which CPUs
// share a core) and the cgroup's cpu.max (v2) or cpu.cfs_quota_us (v1); elsewhere, or where a file cannot be read,
// every CPU counts as a core.
import fs from 'node:fs';
import os from 'node:os';

export interface ThreadPlan {
  /** the threads the kernels get */
  threads: number;
  /** CPUs this process may run on */
  cpus: number;
  /** physical cores among them */
  cores: number;
  /** CPUs a cgroup limit allows (quota / period), or null when unlimited or unknown */
  limit: number | null;
  /** why that many, in words */
  why: string;
}

/** Reads a host file as text, or null when it is missing or unreadable. */
export type ReadHostFile = (file: string) => string | null;

const readReal: ReadHostFile = (file) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

/** "0-3,8,10-11" (the kernel's CPU list format) as CPU ids; null when it is not one. */
export function parseCpuList(text: string): number[] | null {
  const ids: number[] = [];
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return null;
    const lo = Number(m[1]), hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi - lo > 65536) return null;
    for (let i = lo; i <= hi; i++) ids.push(i);
  }
  return ids.length ? ids : null;
}

/** The CPUs a cgroup lets this process use (quota / period), or null: cgroup v2's cpu.max ("max 100000" when
 *  unlimited), else v1's cpu.cfs_quota_us (-1 when unlimited) over cpu.cfs_period_us. */
export function cgroupCpuLimit(read: ReadHostFile): number | null {
  const v2 = read('/sys/fs/cgroup/cpu.max');
  if (v2 !== null) {
    const [quota, period] = v2.trim().split(/\s+/);
    const q = Number(quota), p = Number(period);
    return quota !== 'max' && q > 0 && p > 0 ? q / p : null;
  }
  for (const dir of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
    const quota = read(`${dir}/cpu.cfs_quota_us`), period = read(`${dir}/cpu.cfs_period_us`);
    if (quota === null || period === null) continue;
    const q = Number(quota.trim()), p = Number(period.trim());
    return q > 0 && p > 0 ? q / p : null;
  }
  return null;
}

/** The CPUs this process may run on (Cpus_allowed_list), ascending, each with the core it belongs to: the list of
 *  CPUs that share it (core_cpus_list; thread_siblings_list on older kernels; the CPU alone where neither can be
 *  read; CPU ids are host-wide, so a list names one core). Null where the allowed CPUs cannot be read. */
function allowedCpus(read: ReadHostFile): { id: number; core: string }[] | null {
  const status = read('/proc/self/status');
  const listed = status ? /^Cpus_allowed_list:\s*(\S+)/m.exec(status) : null;
  const ids = listed ? parseCpuList(listed[1]) : null;
  if (!ids) return null;
  return [...ids].sort((a, b) => a - b).map((id) => {
    const topo = `/sys/devices/system/cpu/cpu${id}/topology`;
    const siblings = read(`${topo}/core_cpus_list`) ?? read(`${topo}/thread_siblings_list`);
    return { id, core: siblings === null ? `cpu ${id}` : siblings.trim() };
  });
}

/** The CPUs worker threads are bound to under SHITATE_PIN_THREADS, in order: the lowest CPU of each physical core
 *  this process may use (cores in the order of those CPUs), then the cores' other hardware threads; null where the
 *  allowed CPUs cannot be read. Worker i of a pool goes on entry i (0 is the calling thread's, which stays unbound),
 *  so up to one thread per core every worker has a core of its own. */
export function placementCpus(read: ReadHostFile = readReal): number[] | null {
  const cpus = allowedCpus(read);
  if (!cpus) return null;
  const seen = new Set<string>();
  const first: number[] = [];
  const others: number[] = [];
  for (const { id, core } of cpus) {
    (seen.has(core) ? others : first).push(id);
    seen.add(core);
  }
  return [...first, ...others];
}

/** The thread plan for this host (read through `read`; `fallbackCpus` where the allowed CPUs cannot be read). */
export function planThreads(read: ReadHostFile = readReal, fallbackCpus: number = os.availableParallelism()): ThreadPlan {
  const allowed = allowedCpus(read);
  const cpus = allowed ? allowed.length : Math.max(1, fallbackCpus);
  const cores = allowed ? new Set(allowed.map((c) => c.core)).size : cpus;
  const limit = cgroupCpuLimit(read);
  const room = limit !== null ? Math.max(1, Math.floor(limit)) : cores;
  const capped = limit !== null && room < cores;
  const threads = Math.min(room, cores);
  const cpuWords = `${cpus} CPU${cpus === 1 ? '' : 's'} this process may use`;
  const why = capped ? `a cgroup limit of ${+limit.toFixed(2)} CPUs (${cores} physical cores, ${cpuWords})`
    : cores < cpus ? `one per physical core (${cores} cores, ${cpuWords})` : `one per CPU this process may use (${cpus})`;
  return { threads, cpus, cores, limit, why };
}
