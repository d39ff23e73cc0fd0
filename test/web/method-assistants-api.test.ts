// The Method and Assistants pages' API: the local model picker with licence verdicts, the advisor, the
// estimate (`shitate estimate --json`), assistant profiles checked by the profile parser, knowledge bases
// with upload and search, and per-user memory.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, MINI, makeStudio, type Json, type TestStudio } from './helpers.js';

let s: TestStudio;
beforeAll(() => {
  s = makeStudio();
});
afterAll(() => s.close());

describe('models and method', { timeout: 120_000 }, () => {
  it('lists the bundled model with its size and the licence verdict for the purpose', async () => {
    const r = await s.req('GET', '/api/models?purpose=commercial');
    const mini = at<Json[]>(r.json, 'models').find((m) => m.path === MINI)!;
    expect(mini).toMatchObject({ name: 'shitate-mini', modelType: 'llama', supported: true, hasChatTemplate: true });
    expect(mini.params).toBeGreaterThan(6e6);
    expect((mini.licence as Json).decision).toMatch(/^(allow|needs-ack|block)$/);
    expect((mini.licence as Json).explanation).not.toBe('');
    expect((await s.req('GET', '/api/models?purpose=fun')).status).toBe(400);
  });

  it('describes a folder named by path, and refuses one that is not a model', async () => {
    const copy = path.join(s.dir, 'models', 'my-model');
    fs.mkdirSync(copy, { recursive: true });
    for (const f of fs.readdirSync(MINI)) fs.copyFileSync(path.join(MINI, f), path.join(copy, f));
    const r = await s.req('GET', `/api/models?path=${encodeURIComponent(copy)}`);
    expect(at<Json[]>(r.json, 'models').some((m) => m.path === copy && m.supported)).toBe(true);
    expect((await s.req('GET', `/api/models?path=${encodeURIComponent(s.dir)}`)).status).toBe(400);
  });

  it('ranks methods as shitate advise does, in the asked language', async () => {
    const r = await s.req('POST', '/api/advise', { goal: 'knowledge', examples: 20, confidential: true, hardware: 'cpu', purpose: 'commercial' }, { 'accept-language': 'ja' });
    expect(r.status).toBe(200);
    const recs = at<{ method: string; level: string }[]>(r.json, 'advice.recommendations');
    expect(recs[0].method).toBe('rag');
    const bad = await s.req('POST', '/api/advise', { goal: 'fame' });
    expect(bad.status).toBe(400);
    expect(at<string>(bad.json, 'error.message')).toMatch(/goal/);
  });

  it('estimates memory and time by running shitate estimate', async () => {
    const r = await s.req('POST', '/api/estimate', { model: MINI, method: 'lora', rank: 8, seq: 256, batch: 2, tokens: 50_000 });
    expect(r.status).toBe(200);
    expect(at<number>(r.json, 'estimate.cpu.peakBytes')).toBeGreaterThan(0);
    expect(at<number>(r.json, 'estimate.cpuSecondsPerEpoch')).toBeGreaterThan(0);
    expect(at<string>(r.json, 'estimate.command')).toContain('shitate estimate --model');
    expect((await s.req('POST', '/api/estimate', { model: MINI, method: 'dora' })).status).toBe(400);
    expect((await s.req('POST', '/api/estimate', { model: MINI, seq: 0 })).status).toBe(400);
    expect((await s.req('POST', '/api/estimate', {})).status).toBe(400);
  });
});

describe('assistants', () => {
  const profile = {
    name: 'サポート', description: 'FAQ', instructions: 'あなたは {{ company }} の窓口です。', language: 'ja',
    provider: { kind: 'local', model: MINI }, knowledge: { bases: ['faq'] }, memory: { enabled: true }, variables: { company: 'モリノス' },
  };

  it('writes a profile the CLI reads, shows its rendered prompt, and deletes it', async () => {
    const r = await s.req('PUT', '/api/assistants/support', profile);
    expect(r.status).toBe(200);
    expect(at<string>(r.json, 'systemPrompt')).toBe('あなたは モリノス の窓口です。');
    // the window as the bundled model shares it, counted with its own tokenizer and template
    const b = at<Record<string, number | boolean | null>>(r.json, 'budgets');
    expect(b).toMatchObject({ context: 512, exact: true, problem: null });
    expect((b.system as number) + (b.answer as number) + (b.per_turn as number)).toBe(512);
    expect(b.knowledge as number).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(s.home, 'assistants', 'support.yaml'))).toBe(true);
    expect(at<Json[]>((await s.req('GET', '/api/assistants')).json, 'assistants')[0]).toMatchObject({ id: 'support', name: 'サポート', memory: true, knowledge: ['faq'] });
    // quoting the retrieved passages, and the knowledge settings the page does not edit, go through to the file
    const quoting = await s.req('PUT', '/api/assistants/support', { ...profile, knowledge: { bases: ['faq'], top_k: 3, quote: 10 } });
    expect(quoting.status).toBe(200);
    expect(at<Json>(quoting.json, 'profile.knowledge')).toMatchObject({ bases: ['faq'], topK: 3, quote: 10 });
    expect(fs.readFileSync(path.join(s.home, 'assistants', 'support.yaml'), 'utf8')).toMatch(/quote: 10/);
    expect((await s.req('PUT', '/api/assistants/support', { ...profile, knowledge: { bases: ['faq'], quote: -1 } })).status).toBe(400);
    expect((await s.req('DELETE', '/api/assistants/support')).status).toBe(200);
    expect((await s.req('GET', '/api/assistants/support')).status).toBe(404);
  });

  it('refuses a profile the parser refuses, an API key in the file, and a bad name', async () => {
    const typo = await s.req('PUT', '/api/assistants/x', { ...profile, instrucions: 'hi' });
    expect(typo.status).toBe(400);
    expect(at<string>(typo.json, 'error.message')).toMatch(/instrucions/);
    const key = await s.req('PUT', '/api/assistants/x', { ...profile, provider: { kind: 'openai', model: 'gpt', key: 'sk-123' } });
    expect(key.status).toBe(400);
    expect(at<string>(key.json, 'error.message')).toMatch(/^provider\.key/);
    expect((await s.req('PUT', '/api/assistants/..%2Fx', profile)).status).toBe(400);
    const tmpl = await s.req('PUT', '/api/assistants/x', { ...profile, instructions: '{{ unknown_var }}' });
    expect(tmpl.status).toBe(400);
  });

  it('indexes an uploaded document and finds it', async () => {
    const doc = '# 配送\n送料は全国一律550円（税込）です。5,500円以上のご注文で送料無料です。\n\n# 返品\n商品到着後14日以内であれば返品できます。\n';
    const up = await s.req('POST', `/api/kb/faq/files?file=${encodeURIComponent('配送.md')}`, doc);
    expect(up.status).toBe(201);
    expect(at(up.json, 'result.status')).toBe('indexed');
    const again = await s.req('POST', `/api/kb/faq/files?file=${encodeURIComponent('配送.md')}`, doc);
    expect(at(again.json, 'result.status')).toBe('unchanged');
    const hits = await s.req('GET', `/api/kb/faq/search?q=${encodeURIComponent('返品の期限')}&k=2`);
    expect(at<string>(hits.json, 'hits.0.text')).toContain('14日以内');
    expect(at<string>(hits.json, 'hits.0.cite')).toContain('配送.md');
    expect(at<Json[]>((await s.req('GET', '/api/kb')).json, 'bases')[0]).toMatchObject({ name: 'faq', documents: 1 });
    expect((await s.req('GET', '/api/kb/faq/search?q=')).status).toBe(400);
    expect((await s.req('GET', '/api/kb/nope/search?q=x')).status).toBe(404);
    expect((await s.req('POST', '/api/kb/bad%20name/files?file=a.md', 'x')).status).toBe(400);
  });

  it('remembers, lists and forgets facts per user', async () => {
    const add = await s.req('POST', '/api/memory', { user: 'tanaka', text: '英語での回答を好む' });
    expect(add.status).toBe(201);
    const id = at<number>(add.json, 'added.id');
    expect(at<Json[]>((await s.req('GET', '/api/memory?user=tanaka')).json, 'items').map((m) => m.text)).toEqual(['英語での回答を好む']);
    expect(at<unknown[]>((await s.req('GET', '/api/memory?user=suzuki')).json, 'items')).toHaveLength(0);
    expect((await s.req('DELETE', `/api/memory/${id}?user=suzuki`)).status).toBe(404);
    expect((await s.req('DELETE', `/api/memory/${id}?user=tanaka`)).status).toBe(200);
    expect((await s.req('POST', '/api/memory', { user: 'tanaka', text: ' ' })).status).toBe(400);
  });
});
