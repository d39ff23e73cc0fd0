// `shitate serve` as a real process: prints its URL, serves the base and a --adapter under their ids with
// keys from SHITATE_API_KEYS, logs requests to stderr without the prompts, says which weight and cache formats it
// holds (int8 weights here), and exits 0 on SIGTERM.
import { spawn } from 'node:child_process';
import path from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { makeAdapter, serveModelDir } from './fixtures.js';

const ROOT = path.join(import.meta.dirname, '..', '..');
const ENTRY = path.join(ROOT, 'test', 'cli', 'entry.ts');

describe('shitate serve', () => {
  it('serves over HTTP until SIGTERM', async () => {
    const modelDir = serveModelDir();
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'serve', '--model', modelDir, '--adapter', `support=${makeAdapter(modelDir, 1)}`, '--port', '0', '--weights', 'int8'], {
      cwd: ROOT, env: { ...process.env, SHITATE_API_KEYS: 'k1,k2', SHITATE_QUIET_FALLBACK: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        stdout += b.toString('utf8');
        const m = /listening on (http:\/\/\S+)/.exec(stdout);
        if (m) resolve(m[1]);
      });
      void exited.then((code) => reject(new Error(`serve exited with ${code} before listening:\n${stderr}`)));
    });
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k2', maxRetries: 0 });
      const ids: string[] = [];
      for await (const m of client.models.list()) ids.push(m.id);
      expect(ids).toEqual([path.basename(modelDir), 'support']);
      const secret = 'quokka-ledger-993';
      const r = await client.chat.completions.create({ model: 'support', messages: [{ role: 'user', content: secret }], max_tokens: 3 });
      expect(r.usage?.completion_tokens).toBe(3);
      const denied = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k3', maxRetries: 0 });
      await expect(denied.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      expect(stderr).not.toContain(secret);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('POST /v1/chat/completions 200');
    expect(stderr).toContain('model=support prompt_tokens=');
    expect(stderr).toContain('int8 weights, bf16 KV cache'); // the cache follows reduced weights by default
  });
});
