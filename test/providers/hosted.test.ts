// Anthropic and Gemini: request bodies and streamed replies checked against example payloads written from
// their public API documentation, replayed by a local HTTP server.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { anthropicBody, complete, createProvider, geminiBody, type ChatMessage } from '../../src/providers/index.js';
import { ShitateError } from '../../src/errors.js';
import { sendJson, sendSse, startServer, type FakeServer } from './fake-server.js';

const FIX = path.join(import.meta.dirname, 'fixtures');
const fixture = (name: string): string => fs.readFileSync(path.join(FIX, name), 'utf8');
const json = (name: string): unknown => JSON.parse(fixture(name));

let server: FakeServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function caught(p: Promise<unknown>): Promise<ShitateError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(ShitateError);
  return e as ShitateError;
}

describe('Anthropic Messages API', () => {
  const messages: ChatMessage[] = [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Hello, Claude' },
    { role: 'assistant', content: 'Hello! How can I help?' },
    { role: 'user', content: 'Say hi in Japanese.' },
  ];

  it('builds the documented request body', () => {
    const body = anthropicBody('claude-sonnet-4-5', messages, { maxTokens: 256, temperature: 0.5, stop: ['\n\nHuman:'] }, true);
    expect(body).toEqual(json('anthropic-request.json'));
  });

  it('merges consecutive turns of one role, as the API requires alternation', () => {
    const body = anthropicBody('m', [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }], {}, false);
    expect(body.messages).toEqual([{ role: 'user', content: 'a\n\nb' }]);
    expect(body.max_tokens).toBeGreaterThan(0);
  });

  it('streams the recorded reply with headers, stop reason and usage', async () => {
    server = await startServer((_req, res) => sendSse(res, fixture('anthropic-stream.sse')));
    const p = createProvider({ kind: 'anthropic', model: 'claude-sonnet-4-5', url: server.url, key: 'sk-ant-test' });
    const deltas: string[] = [];
    const r = await complete(p, { messages, params: { maxTokens: 256 } }, (t) => deltas.push(t));
    expect(r.text).toBe('こんにちは! (Hello!)');
    expect(deltas).toEqual(['こんにちは', '! (Hello!)']);
    expect(r.finishReason).toBe('stop');
    expect(r.usage).toEqual({ promptTokens: 25, completionTokens: 15 });
    const req = server.requests[0];
    expect(req.path).toBe('/v1/messages');
    expect(req.headers['x-api-key']).toBe('sk-ant-test');
    expect(req.headers['anthropic-version']).toBe('2023-06-01');
    expect((req.json as { stream: boolean }).stream).toBe(true);
  });

  it('reports a refused key as E_PROVIDER_AUTH with the API message, without retrying', async () => {
    server = await startServer((_req, res) => sendJson(res, 401, json('anthropic-error-auth.json')));
    const p = createProvider({ kind: 'anthropic', model: 'm', url: server.url, key: 'bad', retries: 3, backoffMs: 1 });
    const e = await caught(complete(p, { messages }));
    expect(e.code).toBe('E_PROVIDER_AUTH');
    expect(e.message).toContain('invalid x-api-key');
    expect(server.requests.length).toBe(1);
  });

  it('turns an error event mid-stream into E_PROVIDER_STREAM', async () => {
    server = await startServer((_req, res) => sendSse(res, fixture('anthropic-stream-overloaded.sse')));
    const p = createProvider({ kind: 'anthropic', model: 'm', url: server.url, key: 'k' });
    const e = await caught(complete(p, { messages }));
    expect(e.code).toBe('E_PROVIDER_STREAM');
    expect(e.message).toContain('overloaded_error');
  });

  it('refuses to start without a key', async () => {
    const p = createProvider({ kind: 'anthropic', model: 'm', url: 'http://127.0.0.1:9', keyEnv: 'SHITATE_TEST_NO_SUCH_KEY' });
    const e = await caught(complete(p, { messages }));
    expect(e.code).toBe('E_PROVIDER_KEY');
    expect(e.message).toContain('SHITATE_TEST_NO_SUCH_KEY');
  });
});

describe('Gemini API', () => {
  const messages: ChatMessage[] = [
    { role: 'system', content: 'You are a cat. Your name is Neko.' },
    { role: 'user', content: 'Hello' },
    { role: 'assistant', content: 'Great to meet you. What would you like to know?' },
    { role: 'user', content: 'I have two dogs in my house. How many paws are in my house?' },
  ];

  it('builds the documented request body', () => {
    const body = geminiBody(messages, { temperature: 1, topP: 0.8, topK: 10, maxTokens: 800, stop: ['Title'] });
    expect(body).toEqual(json('gemini-request.json'));
  });

  it('streams the recorded reply from streamGenerateContent?alt=sse', async () => {
    server = await startServer((_req, res) => sendSse(res, fixture('gemini-stream.sse')));
    const p = createProvider({ kind: 'gemini', model: 'gemini-2.0-flash', url: server.url, key: 'g-key' });
    const r = await complete(p, { messages });
    expect(r.text).toBe('Meow! Two dogs have 8 paws in total.');
    expect(r.finishReason).toBe('stop');
    expect(r.usage).toEqual({ promptTokens: 32, completionTokens: 12 });
    const req = server.requests[0];
    expect(req.path).toBe('/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse');
    expect(req.headers['x-goog-api-key']).toBe('g-key');
  });

  it('maps a 400 API_KEY_INVALID to E_PROVIDER_AUTH', async () => {
    server = await startServer((_req, res) => sendJson(res, 400, json('gemini-error-key.json')));
    const p = createProvider({ kind: 'gemini', model: 'gemini-2.0-flash', url: server.url, key: 'bad' });
    const e = await caught(complete(p, { messages }));
    expect(e.code).toBe('E_PROVIDER_AUTH');
    expect(e.message).toContain('API key not valid');
    expect(e.hint).not.toBe('');
  });

  it('ends a blocked prompt with finishReason other and the block reason', async () => {
    server = await startServer((_req, res) => sendSse(res, fixture('gemini-stream-blocked.sse')));
    const p = createProvider({ kind: 'gemini', model: 'gemini-2.0-flash', url: server.url, key: 'k' });
    let detail: string | undefined;
    for await (const ev of p.chat({ messages })) if (ev.type === 'done') {
      expect(ev.finishReason).toBe('other');
      detail = ev.detail;
    }
    expect(detail).toBe('SAFETY');
  });
});
