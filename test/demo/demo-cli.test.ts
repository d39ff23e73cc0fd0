// `shitate demo` end to end through the real CLI at reduced size (a few training steps, a few held-out
// questions): the bundled model and sample FAQ go through every step and the tuned adapter must have a
// lower loss than the base on held-out questions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from '../cli/run-cli.js';

interface SystemRow { system: string; loss: number | null; questions: number }

describe('shitate demo', () => {
  it('checks, prepares, tunes, evaluates and answers; the tuned loss is below the base loss', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-demo-'));
    onTestFinished(() => fs.rmSync(root, { recursive: true, force: true }));
    const out = path.join(root, 'demo');
    const r = await runCli(['demo', '--max-steps', '12', '--limit', '4', '--ask', '1', '--out', out, '--lang', 'en']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'eval', 'eval.json'), 'utf8')) as { systems: SystemRow[] };
    const [base, tuned] = report.systems;
    expect(base.system).toBe('base');
    expect(tuned.questions).toBe(4);
    expect(tuned.loss).not.toBeNull();
    expect(tuned.loss!).toBeLessThan(base.loss!);
    // every step left its files, and the user is told how to go on with them
    for (const f of ['data/train.jsonl', 'data/val.jsonl', 'run/adapter/adapter_config.json', 'eval/eval.html']) {
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    }
    expect(r.stdout).toContain(`--adapter ${path.join(out, 'run', 'adapter')}`);
    expect(r.stdout).toContain('problems.csv');
  }, 240_000);

  it('refuses an --out folder that already holds files', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-demo-'));
    onTestFinished(() => fs.rmSync(out, { recursive: true, force: true }));
    fs.writeFileSync(path.join(out, 'keep.txt'), 'x');
    const r = await runCli(['demo', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('E_OUT_EXISTS');
    expect(fs.readdirSync(out)).toEqual(['keep.txt']);
  });
});
