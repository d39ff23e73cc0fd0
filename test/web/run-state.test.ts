// The pure parts under the studio: what a run folder says about the run (status after stops, resumes,
// failures; warnings at their step), errors read back from a command's output, and the tar writer.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorInLog, isAlive, warningsInLog } from '../../src/web/jobs.js';
import { noticesOf, runState, type MetricLine, type RunMeta } from '../../src/web/run-state.js';
import { tarGzStream, tarHeader } from '../../src/web/tar.js';
import { tempDir } from '../helpers/tiny-model.js';

const step = (n: number, loss = 5): MetricLine => ({ type: 'step', step: n, totalSteps: 10, loss, lr: 1e-3, tokensPerSec: 10, etaSec: 1, epoch: n / 10 });
const meta = (launches: RunMeta['launches'] = []): RunMeta => ({ id: 'r', name: 'r', createdAt: '', model: '', dataset: null, data: '', val: null, settings: {}, launches });

function runDir(lines: MetricLine[], log = '', checkpoint = false): string {
  const dir = tempDir('shitate-runstate-');
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + (lines.length ? '\n' : ''));
  fs.writeFileSync(path.join(dir, 'train.log'), log);
  if (checkpoint) fs.mkdirSync(path.join(dir, 'checkpoints', 'last'), { recursive: true });
  return dir;
}

const dead = { pid: 2 ** 22 + 12345, args: [], startedAt: '', logOffset: 0 };

describe('run status from the run folder', () => {
  it('completed, early-stopped, stopped (resumable) and failed', () => {
    const done = runDir([{ type: 'start' }, step(1), { type: 'done', reason: 'completed', step: 1 }]);
    expect(runState(done, meta([dead]))).toMatchObject({ status: 'completed', reason: 'completed', resumable: false });
    const early = runDir([{ type: 'start' }, step(1), { type: 'done', reason: 'early-stop', step: 1, bestStep: 1, bestValLoss: 4 }], '', true);
    expect(runState(early, meta([dead]))).toMatchObject({ status: 'completed', reason: 'early-stop', resumable: false });
    const stopped = runDir([{ type: 'start' }, step(1), { type: 'done', reason: 'interrupted', step: 1 }], '', true);
    expect(runState(stopped, meta([dead]))).toMatchObject({ status: 'stopped', resumable: true });
    const killed = runDir([{ type: 'start' }, step(1), step(2)], '', true);
    expect(runState(killed, meta([dead]))).toMatchObject({ status: 'stopped', resumable: true, progress: { step: 2 } });
    const failed = runDir([], 'training: 3 steps\nerror[E_MEMORY]: training needs about 9 GiB\n  hint: lower batch_tokens\n');
    expect(runState(failed, meta([dead]))).toMatchObject({ status: 'failed', error: { code: 'E_MEMORY', hint: 'lower batch_tokens' } });
  });

  it('judges a resumed run by its latest launch only', () => {
    const lines: MetricLine[] = [step(1), { type: 'done', reason: 'interrupted', step: 1 }, { type: 'start' }, step(2)];
    const log = 'error[E_OLD]: an old failure\n';
    const dir = runDir(lines, `${log}training resumed\n`, true);
    // the error was printed before the second launch started: it is not this launch's
    expect(runState(dir, meta([dead, { ...dead, logOffset: log.length }])).status).toBe('stopped');
    expect(runState(dir, meta([dead, { ...dead, logOffset: 0 }])).status).toBe('failed');
  });

  it('places warnings at the step they followed and marks over-fitting and early stops', () => {
    const n = noticesOf([step(1), step(2), { type: 'eval', step: 2, valLoss: 5 },
      { type: 'warning', message: 'validation loss (5.1) is rising while training loss keeps falling (gap ...): the model is memorising the training set.' },
      step(3), { type: 'done', reason: 'early-stop', step: 3, bestStep: 2, bestValLoss: 5 }], 'warning: no --val given: held out 4 of 40 examples\n');
    expect(n.map((x) => [x.kind, x.step])).toEqual([['overfit', 2], ['early-stop', 3], ['warning', null]]);
    expect(n[1].message).toMatch(/step 2/);
  });

  it('reads a running process as alive only while it is the one started', () => {
    expect(isAlive(process.pid, process.argv[1])).toBe(true);
    expect(isAlive(process.pid, '/a/path/no/process/has')).toBe(false);
    expect(isAlive(dead.pid, '')).toBe(false);
  });
});

describe('command output', () => {
  it('takes the last shitate error with its hint, and never a stack trace', () => {
    expect(errorInLog('step 1\nerror[E_DATA]: bad.jsonl:3: empty\n  hint: fix it\n')).toEqual({ code: 'E_DATA', message: 'bad.jsonl:3: empty', hint: 'fix it' });
    expect(errorInLog('error[E_LICENCE_ACK]: expected --accept-licence\n    - keep the notice\n  hint: read it\n')!.message).toBe('expected --accept-licence\n    - keep the notice');
    const crash = errorInLog('TypeError: x is not a function\n    at f (/a/b.js:1:2)\n    at g (/a/c.js:3:4)\n')!;
    expect(crash.code).toBe('E_INTERNAL');
    expect(crash.message).toContain('TypeError: x is not a function');
    expect(crash.message).not.toContain(' at f');
    expect(errorInLog('all fine\n')).toBeNull();
    expect(warningsInLog('warning: a\nx\nwarning: b\nwarning: a\n')).toEqual(['a', 'b']);
  });
});

describe('tar.gz', () => {
  it('writes archives tar itself reads, long paths and empty files included', async () => {
    const dir = tempDir('shitate-tar-');
    const deep = path.join(dir, 'a'.repeat(60), 'b'.repeat(60));
    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(path.join(deep, 'weights.bin'), Buffer.alloc(1000, 7));
    fs.writeFileSync(path.join(dir, 'empty.txt'), '');
    fs.writeFileSync(path.join(dir, '日本語.json'), '{"a": 1}');
    const file = path.join(tempDir('shitate-tar-out-'), 'x.tar.gz');
    fs.writeFileSync(file, Buffer.from(await new Response(tarGzStream(dir, 'top')).arrayBuffer()));
    const out = tempDir('shitate-untar-');
    execFileSync('tar', ['-xzf', file, '-C', out]);
    expect(fs.readFileSync(path.join(out, 'top', 'a'.repeat(60), 'b'.repeat(60), 'weights.bin'))).toEqual(Buffer.alloc(1000, 7));
    expect(fs.readFileSync(path.join(out, 'top', 'empty.txt'), 'utf8')).toBe('');
    expect(fs.readFileSync(path.join(out, 'top', '日本語.json'), 'utf8')).toBe('{"a": 1}');
  });

  it('refuses a path too long for ustar instead of writing a broken archive', () => {
    expect(() => tarHeader('x'.repeat(300), 0, 0, false)).toThrow(/too long/);
  });
});
