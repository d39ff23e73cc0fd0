// Training survives what kills processes in the field: SIGKILL at every step of the checkpoint-folder swap
// (injected between the renames) resumes to bitwise the same weights as an uninterrupted run; SIGTERM
// checkpoints like Ctrl-C; a kill before the first checkpoint starts over cleanly; a torn metrics line and
// temp leftovers are repaired, a damaged state file is named; settings given again on resume are refused
// or, when safe, applied and listed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { SWAP_POINTS } from '../../src/train/faults.js';
import { runCli } from '../cli/run-cli.js';
import { runQuiet } from '../cli/run-quiet.js';
import { tempDir, tinyModelDir, writeJsonl } from '../helpers/tiny-model.js';

const ROWS = Array.from({ length: 12 }, (_, i) => ({
  messages: [{ role: 'user', content: `Question ${i % 4}: when?` }, { role: 'assistant', content: `Answer ${i % 4}: 9 to 6 on weekdays.` }],
}));

let dir: string;
let data: string;
let reference: Buffer;
const args = (out: string, steps = 6): string[] => ['train', '--model', tinyModelDir(), '--data', data, '--out', out, '--max-steps', String(steps),
  '--save-every', '2', '--val-split', '0', '--lora-dropout', '0.1', '--learning-rate', '0.01', '--batch-tokens', '64'];
const weights = (out: string): Buffer => fs.readFileSync(path.join(out, 'adapter', 'adapter_model.safetensors'));

interface StepRow { type: string; step?: number }
function loggedSteps(out: string): number[] {
  return fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as StepRow)
    .filter((r) => r.type === 'step').map((r) => r.step!);
}

beforeAll(async () => {
  dir = tempDir('shitate-crash-');
  data = writeJsonl(path.join(dir, 'train.jsonl'), ROWS);
  expect(await run(args(path.join(dir, 'reference')))).toBe(0);
  reference = weights(path.join(dir, 'reference'));
}, 60_000);

describe('SIGKILL during the checkpoint swap', () => {
  // the second save (step 4) is the first one that replaces an existing checkpoint
  const occurrence: Record<string, number> = { 'swap-filled': 2, 'swap-moved-old': 1, 'swap-renamed-new': 2, 'swap-done': 2 };
  for (const point of SWAP_POINTS) {
    it(`resumes to bitwise the same weights after a kill at ${point}`, async () => {
      const out = path.join(dir, `kill-${point}`);
      const killed = await runCli(args(out), { env: { SHITATE_FAULT: `${point}@${occurrence[point]}` } });
      expect(killed.code, killed.stderr).toBe(null); // died by the signal, mid-swap
      expect(fs.existsSync(path.join(out, 'adapter'))).toBe(false);
      const r = await runCli(['train', '--resume', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/resumed at step (2|4)/);
      expect(weights(out).equals(reference)).toBe(true);
      expect(loggedSteps(out)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(fs.readdirSync(path.join(out, 'checkpoints')).sort()).toEqual(['last']);
    }, 60_000);
  }
});

describe('signals and restarts', () => {
  it('SIGTERM writes a checkpoint, releases the run folder and exits 143; the run then resumes to its end', async () => {
    const out = path.join(dir, 'term');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '..', 'cli', 'entry.ts'), ...args(out, 60)],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SHITATE_QUIET_FALLBACK: '1' } });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (/step \d+\/60/.test(err) && !child.killed) child.kill('SIGTERM');
    });
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(err).toMatch(/SIGTERM: stopping after this step/);
    expect(code).toBe(143);
    const state = JSON.parse(fs.readFileSync(path.join(out, 'checkpoints', 'last', 'trainer_state.json'), 'utf8')) as { step: number };
    expect(state.step).toBeGreaterThan(0);
    expect(state.step).toBeLessThan(60);
    expect(fs.existsSync(path.join(out, 'train.lock'))).toBe(false);
    expect(await run(['train', '--resume', out])).toBe(0);
    expect(loggedSteps(out)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  }, 60_000);

  it('a kill before the first checkpoint: resume and a fresh start both start over and say so, no step logged twice', async () => {
    for (const how of ['resume', 'fresh'] as const) {
      const out = path.join(dir, `early-${how}`);
      const killed = await runCli(args(out), { env: { SHITATE_FAULT: 'train-step@1' } });
      expect(killed.code).toBe(null);
      expect(loggedSteps(out)).toEqual([1]);
      const again = await runCli(how === 'resume' ? ['train', '--resume', out] : args(out));
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/stopped before its first checkpoint: starting it over from step 0/);
      expect(loggedSteps(out)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(weights(out).equals(reference)).toBe(true);
    }
  }, 60_000);
});

/** A run stopped (as by Ctrl-C) at step 2, through a kill right after the first checkpoint. */
async function stoppedAtTwo(name: string): Promise<string> {
  const out = path.join(dir, name);
  const r = await runCli(args(out), { env: { SHITATE_FAULT: 'swap-done@1' } });
  expect(r.code).toBe(null);
  return out;
}

describe('damaged and leftover files', () => {
  it('drops a torn last line of metrics.jsonl and temp leftovers on resume', async () => {
    const out = await stoppedAtTwo('torn');
    fs.appendFileSync(path.join(out, 'metrics.jsonl'), '{"type":"step","step":3,"lo');
    fs.writeFileSync(path.join(out, 'summary.json.tmp-99999'), '{');
    fs.mkdirSync(path.join(out, 'checkpoints', 'last.tmp-99999'));
    expect(await run(['train', '--resume', out])).toBe(0);
    expect(loggedSteps(out)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(weights(out).equals(reference)).toBe(true);
    expect(fs.existsSync(path.join(out, 'summary.json.tmp-99999'))).toBe(false);
    expect(fs.readdirSync(path.join(out, 'checkpoints'))).toEqual(['last']);
  }, 60_000);

  it('names a damaged trainer_state.json or config.json instead of a stack trace, and keeps the checkpoint', async () => {
    const out = await stoppedAtTwo('damaged');
    const state = path.join(out, 'checkpoints', 'last', 'trainer_state.json');
    const good = fs.readFileSync(state);
    for (const bad of ['{"step": 2, "epo', '', '{"step": -1}', '[]']) {
      fs.writeFileSync(state, bad);
      const r = await runQuiet(['train', '--resume', out]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/error\[E_CHECKPOINT\]: .*trainer_state\.json: expected/);
      expect(r.stderr).toMatch(/hint: /);
      expect(r.stderr).not.toMatch(/SyntaxError|\n\s+at /);
      expect(fs.existsSync(state)).toBe(true); // never thrown away
    }
    fs.writeFileSync(state, good);
    const cfg = path.join(out, 'config.json');
    const savedCfg = fs.readFileSync(cfg);
    fs.writeFileSync(cfg, '{"config": {"model": 5');
    const r = await runQuiet(['train', '--resume', out]);
    expect(r.stderr).toMatch(/error\[E_RESUME\]: .*config\.json: expected JSON/);
    fs.writeFileSync(cfg, savedCfg);
    expect(await run(['train', '--resume', out])).toBe(0);
    expect(weights(out).equals(reference)).toBe(true);
  }, 60_000);
});

describe('settings given again on resume', () => {
  it('refuses a changed learning rate, accepts a later max_steps and lists the change', async () => {
    const out = await stoppedAtTwo('flags');
    const refused = await runQuiet(['train', '--resume', out, '--learning-rate', '0.5', '--lora-r', '4']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/expected the run's saved settings, found changes: /);
    expect(refused.stderr).toMatch(/learning_rate 0\.01 -> 0\.5 \(flag --learning-rate\)/);
    expect(refused.stderr).toMatch(/lora_r 8 -> 4 \(flag --lora-r\)/);
    const same = await runQuiet(['train', '--resume', out, '--max-steps', '8', '--learning-rate', '0.01']);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).toMatch(/resume: max_steps 6 -> 8 \(flag --max-steps\)/);
    expect(loggedSteps(out)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const saved = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { config: { maxSteps: number } };
    expect(saved.config.maxSteps).toBe(8);
    const lower = await runQuiet(['train', '--resume', out, '--max-steps', '3']);
    expect(lower.stderr).toMatch(/max_steps 3: expected at least the 8 steps/);
  }, 60_000);
});
