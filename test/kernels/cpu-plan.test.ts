// The default thread count: one per physical core among the CPUs this process may use, within a cgroup CPU limit,
// read from a fake host's /proc and /sys files.
import { describe, expect, it } from 'vitest';
import { cgroupCpuLimit, parseCpuList, placementCpus, planThreads, type ReadHostFile } from '../../src/kernels/cpu-plan.js';

/** A host whose CPUs 0..n-1 pair up as hyper-threads (i and i + n/2 share a core) when smt, with extra files. */
function host(allowed: string, n: number, smt: boolean, extra: Record<string, string> = {}): ReadHostFile {
  const files: Record<string, string> = { '/proc/self/status': `Name:\tnode\nCpus_allowed:\tff\nCpus_allowed_list:\t${allowed}\n`, ...extra };
  for (let i = 0; i < n; i++) {
    const core = smt ? i % (n / 2) : i;
    files[`/sys/devices/system/cpu/cpu${i}/topology/core_cpus_list`] = smt ? `${core},${core + n / 2}\n` : `${i}\n`;
  }
  return (f) => files[f] ?? null;
}

describe('thread plan', () => {
  it('reads the kernel\'s CPU lists', () => {
    expect(parseCpuList('0-3,8,10-11\n')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('5')).toEqual([5]);
    for (const bad of ['', 'a-b', '3-1', '0,,2']) expect(parseCpuList(bad)).toBeNull();
  });

  it('takes one thread per physical core, not per hardware thread', () => {
    const smt = planThreads(host('0-15', 16, true), 99);
    expect(smt).toMatchObject({ threads: 8, cpus: 16, cores: 8, limit: null });
    expect(smt.why).toMatch(/one per physical core \(8 cores, 16 CPUs/);
    const plain = planThreads(host('0-1', 2, false), 99);
    expect(plain).toMatchObject({ threads: 2, cpus: 2, cores: 2 });
    expect(plain.why).toBe('one per CPU this process may use (2)');
  });

  it('counts only the CPUs this process may run on (taskset, cpuset)', () => {
    // CPUs 2, 3 and 10 of a 16-CPU host where i and i + 8 share a core: 10 is 2's sibling
    expect(planThreads(host('2-3,10', 16, true), 99)).toMatchObject({ threads: 2, cpus: 3, cores: 2 });
    expect(planThreads(host('2,3', 16, true), 99)).toMatchObject({ threads: 2, cpus: 2, cores: 2 });
  });

  it('stays within a cgroup CPU limit (v2 cpu.max, v1 cfs quota)', () => {
    const v2 = (max: string) => planThreads(host('0-15', 16, true, { '/sys/fs/cgroup/cpu.max': max }), 99);
    expect(v2('200000 100000\n')).toMatchObject({ threads: 2, cores: 8, limit: 2 });
    expect(v2('200000 100000\n').why).toMatch(/^a cgroup limit of 2 CPUs \(8 physical cores, 16 CPUs/);
    expect(v2('150000 100000')).toMatchObject({ threads: 1, limit: 1.5 });
    expect(v2('50000 100000')).toMatchObject({ threads: 1, limit: 0.5 });
    expect(v2('max 100000')).toMatchObject({ threads: 8, limit: null });
    expect(v2('1600000 100000')).toMatchObject({ threads: 8, limit: 16 }); // a limit above the cores changes nothing
    const v1 = (quota: string) => cgroupCpuLimit(host('0-3', 4, false, {
      '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': quota, '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n' }));
    expect(v1('300000\n')).toBe(3);
    expect(v1('-1\n')).toBeNull();
  });

  it('counts every CPU as a core where the topology or the allowed list cannot be read', () => {
    const files: Record<string, string> = { '/proc/self/status': 'Cpus_allowed_list:\t0-3\n' };
    expect(planThreads((f) => files[f] ?? null, 99)).toMatchObject({ threads: 4, cpus: 4, cores: 4 });
    expect(planThreads(() => null, 6)).toMatchObject({ threads: 6, cpus: 6, cores: 6, limit: null });
    expect(planThreads(() => null, 0)).toMatchObject({ threads: 1, cpus: 1 });
  });

  it('orders the CPUs for binding worker threads: one per physical core first, then their other hardware threads', () => {
    // i and i + 8 share a core: cores 0..7 first (their lowest CPUs), then the siblings
    expect(placementCpus(host('0-15', 16, true))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    // allowed CPUs 10, 2, 3, 11 (11 is 3's sibling, 10 is 2's): 2 and 3 each stand for their core
    expect(placementCpus(host('2-3,10-11', 16, true))).toEqual([2, 3, 10, 11]);
    // a sibling listed alone stands for its core: CPU 9 (core of 1) and CPU 2
    expect(placementCpus(host('2,9', 16, true))).toEqual([2, 9]);
    expect(placementCpus(host('0-3', 4, false))).toEqual([0, 1, 2, 3]);
    // no topology: every CPU its own core; no allowed list: nothing to bind to
    expect(placementCpus((f) => (f === '/proc/self/status' ? 'Cpus_allowed_list:\t4-5\n' : null))).toEqual([4, 5]);
    expect(placementCpus(() => null)).toBeNull();
  });
});
