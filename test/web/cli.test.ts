// `shitate studio` as a user starts it: it prints its address, serves the page, needs the printed token
// off loopback, and on Ctrl-C stops a running training with a checkpoint before it exits.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.js';
import { tempDir } from '../helpers/tiny-model.js';
import { ENTRY, FAQ, MINI, QUICK, ROOT, waitFor } from './helpers.js';

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

/** Starts the studio and resolves with its printed address once it listens. */
function startStudio(args: string[]): Promise<{ child: ChildProcessWithoutNullStreams; url: string; token: string | null; stderr: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'studio', '--port', '0', ...args], { cwd: ROOT, env: { ...process.env, SHITATE_QUIET_FALLBACK: '1' } });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /shitate studio: (http:\/\/\S+?)\/(\?token=\S+)?\n/.exec(out);
      if (m) resolve({ child, url: m[1], token: m[2] ? m[2].slice('?token='.length) : null, stderr: () => err, exited });
    });
    child.on('exit', (code) => reject(new Error(`studio exited with ${code}: ${err}`)));
  });
}

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('shitate studio', { timeout: 240_000 }, () => {
  it('refuses bad flags with the usage hint', async () => {
    const r = await runCli(['studio', '--port', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--port expects a whole number/);
    const help = await runCli(['studio', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('docs/studio-api.md');
  });

  it('serves on loopback and stops a running training with a checkpoint on Ctrl-C', async () => {
    const dir = tempDir('shitate-studio-cli-');
    const s = await startStudio(['--dir', dir]);
    const page = await fetch(`${s.url}/`);
    expect(await page.text()).toContain('<div id="root">');
    const up = await json(`${s.url}/api/uploads?name=faq.csv`, { method: 'POST', body: fs.readFileSync(path.join(FAQ, 'faq.csv')) });
    const prep = await json(`${s.url}/api/data/prepare`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uploads: [(up.body.upload as { id: string }).id], skip_invalid: true }) });
    const run = await json(`${s.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MINI, dataset: (prep.body.dataset as { id: string }).id, settings: { ...QUICK, max_steps: 500 } }) });
    const id = (run.body.run as { id: string }).id;
    await waitFor(async () => {
      const r = (await json(`${s.url}/api/runs/${id}`)).body.run as { progress: { step: number } | null };
      return (r.progress?.step ?? 0) >= 2;
    }, 120_000, 'training steps');
    s.child.kill('SIGINT');
    expect(await s.exited).toBe(0);
    expect(s.stderr()).toMatch(/stopping train/);
    const metrics = fs.readFileSync(path.join(dir, 'runs', id, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; reason?: string });
    // the training process's own output says why, should it not have stopped cleanly
    const log = fs.readFileSync(path.join(dir, 'runs', id, 'train.log'), 'utf8').slice(-3000);
    expect(metrics.at(-1), log).toMatchObject({ type: 'done', reason: 'interrupted' });
    expect(fs.existsSync(path.join(dir, 'runs', id, 'checkpoints', 'last'))).toBe(true);
  });

  it('off loopback, prints a login token and requires it', async () => {
    const s = await startStudio(['--dir', tempDir('shitate-studio-cli-'), '--host', '0.0.0.0']);
    expect(s.token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    const url = s.url.replace('0.0.0.0', '127.0.0.1');
    expect((await fetch(`${url}/api/info`)).status).toBe(401);
    expect((await fetch(`${url}/api/info`, { headers: { authorization: `Bearer ${s.token}` } })).status).toBe(200);
    expect(s.stderr()).toMatch(/login token is required/);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });
});
