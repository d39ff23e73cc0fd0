// `shitate doctor`, `--help` and `--version` through the real CLI process.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';
import { planThreads } from '../../src/kernels/cpu-plan.js';

describe('shitate doctor', () => {
  it('reports the machine and a passing kernel self-test as JSON', async () => {
    const r = await runCli(['doctor', '--json']);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as {
      node: string; cores: number; native: { loaded: boolean; error: string | null; threads: number | null; bf16Gemm: string | null };
      paths: { trainBf16: string; weightsBf16: { prefill: string } }; selfTest: { op: string; pass: boolean }[];
    };
    expect(rep.node).toBe(process.version);
    // bf16 runs natively only where oneDNN is linked (and the CPU has the instructions); both settings agree
    expect(['native', 'emulated']).toContain(rep.paths.trainBf16);
    expect(rep.paths.weightsBf16.prefill).toBe(rep.paths.trainBf16);
    if (rep.native.bf16Gemm !== 'onednn') expect(rep.paths.trainBf16).toBe('emulated');
    expect(rep.cores).toBeGreaterThan(0);
    if (rep.native.loaded) {
      expect(rep.native.threads).toBeGreaterThan(0);
      expect(rep.selfTest.map((t) => t.op)).toEqual(expect.arrayContaining(['gemm', 'attention', 'crossEntropy', 'adamw']));
      expect(rep.selfTest.every((t) => t.pass)).toBe(true);
    } else {
      expect(rep.native.error).toBeTruthy();
      expect(process.env.SHITATE_REQUIRE_NATIVE).not.toBe('1');
    }
  });

  it('takes SHITATE_THREADS, else one thread per physical core within any cgroup CPU limit, and says which', async () => {
    const report = async (threads: string) => {
      const r = await runCli(['doctor', '--json'], { env: { SHITATE_THREADS: threads } });
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { native: { loaded: boolean; threads: number; threadsFrom: string; placement: string } }).native;
    };
    const planned = await report(''); // empty: not set
    if (!planned.loaded) return;
    const plan = planThreads();
    expect(planned.threads).toBe(plan.threads);
    expect(planned.threadsFrom).toBe(plan.why);
    const set = await report('1');
    expect(set).toMatchObject({ threads: 1, threadsFrom: 'set by SHITATE_THREADS' });
    // where the worker threads run: unbound unless SHITATE_PIN_THREADS asks
    expect(planned.placement).toMatch(/^not bound \(SHITATE_PIN_THREADS=1 binds/);
    // a cgroup limit of one CPU: one thread, whatever the host has
    const r = await runCli(['doctor', '--json'], { env: { SHITATE_THREADS: '', NODE_OPTIONS: `--import ${path.join(import.meta.dirname, 'fixtures', 'cgroup-one-cpu.mjs')}` } });
    const limited = (JSON.parse(r.stdout) as { native: { threads: number; threadsFrom: string } }).native;
    expect(limited.threads).toBe(1);
    if (plan.cores > 1) expect(limited.threadsFrom).toMatch(/^a cgroup limit of 1 CPUs/);
  });

  it('prints help, the version, and refuses unknown commands with exit code 2', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/usage: shitate <command>/);
    expect(help.stdout).toMatch(/train/);
    const v = await runCli(['--version']);
    expect(v.stdout).toMatch(/^shitate \d+\.\d+\.\d+/);
    const bad = await runCli(['frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command "frobnicate"/);
  });
});
