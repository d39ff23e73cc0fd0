// Signals arriving while native GEMMs run must leave the heap intact. oneDNN's generated GEMM kernels point
// rsp at a heap workspace while they run, so a signal delivered inside one wrote its frame over the heap:
// a profiler's SIGPROF, or Ctrl-C in the middle of a training step, ended the process later with glibc's
// "corrupted size vs. prev_size". The fixture runs GEMMs (oneDNN forced where the addon links it) under node's
// CPU profiler, which sends a SIGPROF every 50 µs, and must finish with the right product.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');

describe('native GEMMs under a storm of signals', () => {
  it('keep the heap intact (the process ends normally with the right product)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-signals-'));
    try {
      const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '50', '--import', 'tsx',
        path.join(ROOT, 'test/kernels/fixtures/gemm-under-signals.ts'), '2500'], {
        cwd: ROOT, encoding: 'utf8', env: { ...process.env, SHITATE_SGEMM: 'onednn' }, timeout: 60_000,
      });
      expect(r.stderr, `exit ${r.status} ${r.signal ?? ''}`).not.toMatch(/corrupted|double free|invalid pointer|malloc/);
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout) as { calls: number; worst: number; finite: boolean };
      expect(out.calls).toBeGreaterThan(10);
      expect(out.worst).toBeLessThan(1e-4);
      expect(out.finite).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
