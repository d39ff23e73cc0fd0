// `shitate eval` as a real process on the tiny model: it prints the metric table and writes eval.json
// (the expected structure) and eval.html, which opens in headless Chromium without console errors; Ctrl-C
// stops the run and still writes the questions computed so far.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { runTraining } from '../../src/train/session.js';
import { TRAIN_DEFAULTS } from '../../src/train/config.js';
import type { EvalReport } from '../../src/eval/index.js';
import { tempDir, tinyModelDir, writeJsonl } from '../helpers/tiny-model.js';
import { runCli } from '../cli/run-cli.js';
import { startFakeJudge } from './fake-judge.js';

const CHROMIUM = '/usr/bin/chromium';
const QA = [
  ['What are your hours?', 'We are open 9 to 6 on weekdays.'],
  ['返品できますか?', '30日以内なら返品できます。'],
  ['How do I reset my password? <b>&', 'Use the reset link on the login page.'],
];
const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ messages: [{ role: 'user', content: QA[i % 3][0] }, { role: 'assistant', content: QA[i % 3][1] }] }));

let dir: string;
let dataFile: string;
let adapterDir: string;

beforeAll(async () => {
  dir = tempDir('shitate-eval-cli-');
  dataFile = writeJsonl(path.join(dir, 'qa.jsonl'), rows(3));
  const res = await runTraining({ config: {
    ...TRAIN_DEFAULTS, model: tinyModelDir(), data: dataFile, out: path.join(dir, 'run'), batchTokens: 512, loraDropout: 0,
    learningRate: 3e-2, maxSteps: 20, warmupRatio: 0, loraR: 16, loraAlpha: 32, valSplit: 0,
  } });
  adapterDir = res.adapterDir;
});

async function consoleErrors(file: string): Promise<{ errors: string[]; text: string; svgs: number; qaTables: number }> {
  const ctx = await chromium.launchPersistentContext(tempDir('shitate-chromium-'), {
    executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const text = await page.innerText('body');
    return { errors, text, svgs: await page.locator('svg').count(), qaTables: await page.locator('table.qa').count() };
  } finally {
    await ctx.close();
  }
}

describe('shitate eval (CLI)', () => {
  it('prints the table, writes a valid eval.json and an eval.html that Chromium opens without errors', async () => {
    expect(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install Chromium (Debian: apt-get install -y chromium) to run this test`).toBe(true);
    const out = path.join(dir, 'report');
    // the judge comes from the environment, as a deployment would configure it
    const judge = await startFakeJudge(() => '{"score": 3, "reason": "partly right"}');
    const r = await runCli(['eval', '--model', tinyModelDir(), '--adapter', adapterDir, '--data', dataFile, '--out', out,
      '--samples', '2', '--max-tokens', '16', '--seed', '7'], {
      env: { SHITATE_JUDGE: 'true', SHITATE_JUDGE_URL: judge.url, SHITATE_JUDGE_MODEL: 'grader', SHITATE_JUDGE_API_KEY: 'sk-secret-1' },
    }).finally(() => judge.close());
    expect(judge.requests).toHaveLength(6);
    expect(judge.requests.every((q) => q.authorization === 'Bearer sk-secret-1' && q.body.model === 'grader')).toBe(true);
    expect(r.stderr).toContain('eval.html');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/loss \(reference\)/);
    expect(r.stdout).toContain('run/adapter');
    const report = JSON.parse(fs.readFileSync(path.join(out, 'eval.json'), 'utf8')) as EvalReport;
    expect(report).toMatchObject({ format: 'shitate-eval', version: 1, complete: true, data: dataFile, settings: { samples: 2, maxTokens: 16, seed: 7 } });
    expect(report.systems.map((s) => s.system)).toEqual(['base', 'run/adapter']);
    expect(report.systems[1].loss!).toBeLessThan(report.systems[0].loss!);
    expect(report.systems.map((s) => s.judge)).toEqual([3, 3]);
    expect(JSON.stringify(report)).not.toContain('sk-secret-1');
    expect(report.questions).toHaveLength(3);
    for (const q of report.questions) {
      for (const res of Object.values(q.results)) {
        expect(typeof res.answer).toBe('string');
        expect(res.samples).toHaveLength(2);
        expect(['stop', 'length']).toContain(res.finishReason);
      }
    }
    const c = report.comparisons[0];
    expect(c.improved.length + c.regressed.length + c.unchanged.length).toBe(3);
    // two of the three references are English: an English report, with its method and intervals
    expect(report.lang).toBe('en');
    expect(report.method.join(' ')).toContain('NFKC');
    expect(c.rule).toEqual({ metric: 'rougeL', minChange: 0.05 });
    expect(report.settings.bootstrap).toEqual({ resamples: 1000, level: 0.95, seed: 7 });
    expect(c.ci.loss!.low).toBeLessThanOrEqual(c.delta.loss!);
    expect(c.ci.loss!.high).toBeGreaterThanOrEqual(c.delta.loss!);

    const page = await consoleErrors(path.join(out, 'eval.html'));
    expect(page.errors).toEqual([]);
    expect(page.svgs).toBeGreaterThanOrEqual(2);
    expect(page.qaTables).toBe(3);
    expect(page.text).toContain('How do I reset my password? <b>&'); // escaped, shown as text
    expect(page.text).toContain('30日以内なら返品できます。');
  });

  it('stops on Ctrl-C and writes the questions computed so far', async () => {
    const many = writeJsonl(path.join(dir, 'many.jsonl'), rows(60));
    const out = path.join(dir, 'partial');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '..', 'cli', 'entry.ts'),
      'eval', '--model', tinyModelDir(), '--adapter', adapterDir, '--data', many, '--out', out, '--samples', '4', '--max-tokens', '48'],
    { env: { ...process.env, SHITATE_QUIET_FALLBACK: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString('utf8'); });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
      if (/^1\/120 /m.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toContain('stopping');
    expect(code).toBe(130);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'eval.json'), 'utf8')) as EvalReport;
    expect(report.complete).toBe(false);
    const answered = report.questions.filter((q) => q.results.base).length;
    expect(answered).toBeGreaterThanOrEqual(1);
    expect(answered).toBeLessThan(60);
    expect(report.systems[0].questions).toBe(answered);
    expect(fs.readFileSync(path.join(out, 'eval.html'), 'utf8')).toContain('Partial results');
    expect(stdout).toContain('partial results');
  });
});
