// One trainer per run folder: a second `train` on a folder in use is refused and told which process holds
// it (same machine or another host); a lock left by a process that no longer exists is taken over, and
// said so; the lock is gone when training ends.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runQuiet } from '../cli/run-quiet.js';
import { lockRunDir } from '../../src/train/run-lock.js';
import { tempDir, tinyModelDir, writeJsonl } from '../helpers/tiny-model.js';

const ROWS = Array.from({ length: 8 }, (_, i) => ({ messages: [{ role: 'user', content: `Q${i}?` }, { role: 'assistant', content: `A${i}.` }] }));

/** A pid no process can have (above the kernel's limit): a finished child's pid may be reused at once. */
function deadPid(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1;
  } catch {
    return 2 ** 22 + 1;
  }
}

describe('two trainers on one run folder', () => {
  it('refuses the second with the pid and host of the first, for resume and for a fresh start', async () => {
    const dir = tempDir('shitate-lock-');
    const data = writeJsonl(path.join(dir, 'train.jsonl'), ROWS);
    const out = path.join(dir, 'run');
    const trainArgs = ['train', '--model', tinyModelDir(), '--data', data, '--out', out, '--batch-tokens', '64', '--val-split', '0', '--save-every', '1'];
    const first = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '..', 'cli', 'entry.ts'), ...trainArgs, '--max-steps', '100000'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SHITATE_QUIET_FALLBACK: '1' } });
    let err = '';
    const started = new Promise<void>((resolve) => first.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (/step \d+\//.test(err)) resolve();
    }));
    const exited = new Promise<number | null>((r) => first.on('exit', (c) => r(c)));
    await started;
    for (const second of [['train', '--resume', out], [...trainArgs, '--max-steps', '4']]) {
      const r = await runQuiet(second);
      expect(r.code, `${r.stderr}\n--- first trainer:\n${err}`).toBe(1);
      expect(r.stderr).toContain(`error[E_RUN_LOCKED]: run folder ${out} is in use: expected no other trainer, found process ${first.pid} on this machine`);
      expect(r.stderr).toMatch(new RegExp(`hint: .*kill -INT ${first.pid}`));
    }
    first.kill('SIGINT');
    expect(await exited, err).toBe(130);
    const steps = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step?: number })
      .filter((m) => m.type === 'step').map((m) => m.step);
    expect(new Set(steps).size).toBe(steps.length); // every step once: the second trainer never ran
    expect(fs.existsSync(path.join(out, 'train.lock'))).toBe(false);
  }, 60_000);

  it('takes over a stale lock (its process is gone) and says so; refuses one held on another host', async () => {
    const dir = tempDir('shitate-lock-stale-');
    const data = writeJsonl(path.join(dir, 'train.jsonl'), ROWS);
    const out = path.join(dir, 'run');
    fs.mkdirSync(out);
    const lock = path.join(out, 'train.lock');
    const pid = deadPid();
    fs.writeFileSync(lock, JSON.stringify({ pid, host: os.hostname(), startedAt: '2024-01-01T00:00:00.000Z', procStart: null }));
    const r = await runQuiet(['train', '--model', tinyModelDir(), '--data', data, '--out', out, '--max-steps', '2', '--batch-tokens', '64']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`note: took over a stale lock on ${out}: process ${pid} no longer exists`);
    expect(fs.existsSync(lock)).toBe(false);
    fs.writeFileSync(lock, JSON.stringify({ pid: 1234, host: 'gpu-box-7', startedAt: '2024-01-01T00:00:00.000Z', procStart: null }));
    const other = await runQuiet(['train', '--resume', out]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('found process 1234 on host gpu-box-7');
    expect(other.stderr).toContain(`hint: if no trainer runs on gpu-box-7 any more, delete ${path.resolve(lock)}`);
  }, 60_000);

  it('refuses a second lock in the same process, and treats an unreadable lock file as stale', () => {
    const dir = tempDir('shitate-lock-unit-');
    const a = lockRunDir(dir);
    expect(() => lockRunDir(dir)).toThrow(/found one running in this process/);
    a.release();
    expect(fs.existsSync(path.join(dir, 'train.lock'))).toBe(false);
    fs.writeFileSync(path.join(dir, 'train.lock'), '{"pid": 12');
    const notes: string[] = [];
    const b = lockRunDir(dir, (m) => notes.push(m));
    expect(notes[0]).toMatch(/the lock file is unreadable/);
    const held = JSON.parse(fs.readFileSync(path.join(dir, 'train.lock'), 'utf8')) as { pid: number; host: string };
    expect(held).toMatchObject({ pid: process.pid, host: os.hostname() });
    b.release();
  });
});
