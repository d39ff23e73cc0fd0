// What comes after training, through the studio's API: base vs tuned evaluation (a real `shitate eval`
// child), the playground's streamed chats on the serve engine with the run's adapter, 👍/👎 saved in TRL's
// KTO format, and exports (adapter download, merged folder, buttons only for commands that exist).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, FAQ, fakeRun, MINI, makeStudio, upload, waitFor, type Json, type TestStudio } from './helpers.js';

let s: TestStudio;
let run: string;
let heldout: string;
beforeAll(async () => {
  s = makeStudio();
  const faq = path.join(s.dir, 'faq.jsonl');
  fs.writeFileSync(faq, fs.readFileSync(path.join(FAQ, 'heldout.jsonl')));
  run = fakeRun(s, { train: faq, val: null });
  heldout = await upload(s, path.join(FAQ, 'heldout.jsonl'));
});
afterAll(() => s.close());

/** The text of a streamed chat reply (OpenAI chunks). */
async function chat(body: Json): Promise<{ status: number; text: string; finish: string | null }> {
  const res = await s.handler(new Request('http://127.0.0.1/api/chat', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }));
  const raw = await res.text();
  if (res.status !== 200) return { status: res.status, text: raw, finish: null };
  let text = '';
  let finish: string | null = null;
  for (const line of raw.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const c = JSON.parse(line.slice(6)) as { choices: { delta: { content?: string }; finish_reason: string | null }[] };
    text += c.choices[0]?.delta.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  return { status: res.status, text, finish };
}

describe('evaluation', { timeout: 240_000 }, () => {
  it('runs shitate eval on held-out questions and serves its report', async () => {
    const r = await s.req('POST', '/api/evals', { runs: [run], upload: heldout, limit: 2, max_tokens: 12 });
    expect(r.status).toBe(201);
    const id = at<string>(r.json, 'eval.id');
    await s.ctx.exits.get(id);
    const ev = at<Json>((await s.req('GET', `/api/evals/${id}`)).json, 'eval');
    expect(ev.status).toBe('completed');
    expect(ev.progress).toEqual({ done: 4, total: 4 });
    const report = ev.report as { systems: { system: string; questions: number }[]; questions: { results: Record<string, { answer: string }> }[] };
    expect(report.systems.map((x) => x.questions)).toEqual([2, 2]);
    expect(Object.keys(report.questions[0].results)).toHaveLength(2);
    const html = await s.req('GET', `/api/evals/${id}/report.html`);
    expect(html.status).toBe(200);
    expect(html.res.headers.get('content-type')).toContain('text/html');
    expect(at<{ id: string }[]>((await s.req('GET', '/api/evals')).json, 'evals').map((e) => e.id)).toContain(id);
  });

  it('refuses what it cannot evaluate', async () => {
    expect((await s.req('POST', '/api/evals', { runs: [], upload: heldout })).status).toBe(400);
    expect((await s.req('POST', '/api/evals', { runs: [run] })).status).toBe(400);
    expect((await s.req('POST', '/api/evals', { runs: ['run-nope'], upload: heldout })).status).toBe(404);
    const stop = await s.req('POST', `/api/evals/eval-nope/stop`);
    expect(stop.status).toBe(404);
  });
});

describe('playground', () => {
  const messages = [{ role: 'user', content: '送料はいくらですか？' }];
  it('streams the base model and the tuned run through the serve engine, each its own answer', async () => {
    const base = await chat({ model: MINI, run: null, messages, temperature: 0, max_tokens: 12 });
    const again = await chat({ model: MINI, messages, temperature: 0, max_tokens: 12 });
    const tuned = await chat({ model: MINI, run, messages, temperature: 0, max_tokens: 12 });
    expect(base.status).toBe(200);
    expect(base.text.length).toBeGreaterThan(0);
    expect(again.text).toBe(base.text);
    expect(tuned.text).not.toBe(base.text);
  });

  it('answers bad chats with a JSON error', async () => {
    const noMsg = await chat({ model: MINI, messages: [] });
    expect(noMsg.status).toBe(400);
    expect(JSON.parse(noMsg.text).error.message).toMatch(/messages/);
    expect((await chat({ model: '/nope', messages })).status).toBe(400);
    expect((await chat({ model: MINI, run: 'run-nope', messages })).status).toBe(404);
  });

  it('saves 👍/👎 as KTO preference records', async () => {
    const prompt = [{ role: 'system', content: 'Be brief.' }, ...messages];
    const up = await s.req('POST', '/api/feedback', { prompt, completion: '550円です。', label: true, model: MINI, run });
    expect(up.status).toBe(201);
    expect(at(up.json, 'count')).toBe(1);
    await s.req('POST', '/api/feedback', { prompt, completion: 'わかりません', label: false, model: MINI, run: null });
    const lines = fs.readFileSync(at<string>(up.json, 'file'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Json);
    expect(lines).toEqual([
      { prompt, completion: [{ role: 'assistant', content: '550円です。' }], label: true },
      { prompt, completion: [{ role: 'assistant', content: 'わかりません' }], label: false },
    ]);
    expect(at((await s.req('GET', '/api/feedback')).json, 'up')).toBe(1);
    for (const bad of [{ prompt, completion: 'x', label: 'good' }, { prompt: [], completion: 'x', label: true },
      { prompt: [...prompt, { role: 'assistant', content: 'x' }], completion: 'y', label: true }, { prompt, label: true }]) {
      const r = await s.req('POST', '/api/feedback', bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
    }
  });
});

describe('exports', { timeout: 240_000 }, () => {
  it('offers GGUF and job bundles only when those commands exist', async () => {
    const opts = (await s.req('GET', '/api/export/options')).json;
    expect(opts).toMatchObject({ adapter: true, merged: true, gguf: false, job: false });
    const refused = await s.req('POST', '/api/exports', { run, kind: 'gguf' });
    expect(refused.status).toBe(400);
    expect(at(refused.json, 'error.code')).toBe('not_available');
    const more = makeStudio({ dir: s.dir, home: s.home, commands: ['merge', 'export', 'export-job'] });
    expect((await more.req('GET', '/api/export/options')).json).toMatchObject({ gguf: true, job: true });
    await more.close();
  });

  it('exports the adapter and downloads it as a .tar.gz with the PEFT files', async () => {
    const r = await s.req('POST', '/api/exports', { run, kind: 'adapter' });
    expect(r.status).toBe(201);
    expect(at(r.json, 'export.status')).toBe('completed');
    const id = at<string>(r.json, 'export.id');
    const dl = await s.handler(new Request(`http://127.0.0.1/api/exports/${id}/download`));
    expect(dl.status).toBe(200);
    expect(dl.headers.get('content-disposition')).toContain(`${run}-adapter.tar.gz`);
    const file = path.join(s.dir, 'dl.tar.gz');
    fs.writeFileSync(file, Buffer.from(await dl.arrayBuffer()));
    const listing = execFileSync('tar', ['-tzvf', file], { encoding: 'utf8' });
    expect(listing).toContain(`${run}-adapter/adapter_model.safetensors`);
    expect(listing).toContain(`${run}-adapter/adapter_config.json`);
    const out = path.join(s.dir, 'untar');
    fs.mkdirSync(out);
    execFileSync('tar', ['-xzf', file, '-C', out]);
    expect(fs.readFileSync(path.join(out, `${run}-adapter`, 'adapter_model.safetensors'))).toEqual(fs.readFileSync(path.join(s.dir, 'runs', run, 'adapter', 'adapter_model.safetensors')));
  });

  it('writes a GPU job bundle through shitate export-job from the run\'s own settings', async () => {
    const jobs = makeStudio({ dir: s.dir, home: s.home, commands: ['merge', 'export-job'] });
    const r = await jobs.req('POST', '/api/exports', { run, kind: 'job', engine: 'hf', gpus: 2 });
    expect(r.status).toBe(201);
    expect(at<string>(r.json, 'export.command')).toMatch(/^shitate export-job --engine hf --model .* --data .* --config .*train\.yaml --gpus 2 --out /);
    const id = at<string>(r.json, 'export.id');
    await jobs.ctx.exits.get(id);
    const ex = at<Json>((await jobs.req('GET', `/api/exports/${id}`)).json, 'export');
    expect(ex.error).toBeNull();
    expect(ex.status).toBe('completed');
    expect((ex.files as { path: string }[]).map((f) => f.path)).toContain('README.md');
    expect((await jobs.req('POST', '/api/exports', { run, kind: 'job', engine: 'deepspeed' })).status).toBe(400);
    await jobs.close();
  });

  it('exports a GGUF file through shitate export, with the adapter merged and an Ollama Modelfile', async () => {
    const gguf = makeStudio({ dir: s.dir, home: s.home, commands: ['merge', 'export'] });
    const r = await gguf.req('POST', '/api/exports', { run, kind: 'gguf', quant: 'q8_0' });
    expect(r.status).toBe(201);
    expect(at<string>(r.json, 'export.command')).toMatch(/^shitate export --model .* --adapter .* --format gguf --quant q8_0 --out /);
    const id = at<string>(r.json, 'export.id');
    await gguf.ctx.exits.get(id);
    const ex = await waitFor(async () => { const e = at<Json>((await gguf.req('GET', `/api/exports/${id}`)).json, 'export'); return e.status !== 'running' && e; });
    expect(ex.error).toBeNull();
    expect(ex.status).toBe('completed');
    const files = (ex.files as { path: string }[]).map((f) => f.path);
    expect(files).toContain('model-q8_0.gguf');
    expect(files.some((f) => /Modelfile/.test(f)), files.join(', ')).toBe(true);
    const file = path.join(at<string>(ex, 'dir'), 'model-q8_0.gguf');
    expect(fs.readFileSync(file).subarray(0, 4).toString('latin1')).toBe('GGUF');
    expect((await gguf.req('POST', '/api/exports', { run, kind: 'gguf', quant: 'q3_k' })).status).toBe(400);
    await gguf.close();
  });

  it('merges through shitate merge into a complete model folder', async () => {
    const r = await s.req('POST', '/api/exports', { run, kind: 'merged' });
    expect(r.status).toBe(201);
    const id = at<string>(r.json, 'export.id');
    expect(at<string>(r.json, 'export.command')).toMatch(/^shitate merge --model .* --adapter .* --out /);
    await s.ctx.exits.get(id);
    const ex = await waitFor(async () => { const e = at<Json>((await s.req('GET', `/api/exports/${id}`)).json, 'export'); return e.status !== 'running' && e; });
    expect(ex.status).toBe('completed');
    expect((ex.files as { path: string }[]).map((f) => f.path)).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']));
    expect((await s.req('POST', '/api/exports', { run, kind: 'zip' })).status).toBe(400);
    expect((await s.req('DELETE', `/api/exports/${id}`)).status).toBe(200);
  });
});
