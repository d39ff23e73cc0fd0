// Bad requests get OpenAI-shaped errors with the right status and the offending field named: invalid JSON,
// huge bodies (declared or streamed), unknown and unsupported fields, out-of-range parameters, malformed
// messages and prompts, prompts past the context, unknown models and URLs, missing or wrong keys. The
// request parsers answer arbitrary JSON with a value or a 400, never anything else.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, type Handler } from '../../src/serve/index.js';
import { ApiError } from '../../src/serve/errors.js';
import { parseChatRequest, parseCompletionRequest } from '../../src/serve/request.js';
import { post, serveTiny, type Json, type Served } from './fixtures.js';

const user = [{ role: 'user', content: 'hello' }];
let s: Served;
beforeAll(() => {
  s = serveTiny({ maxBodyBytes: 64 * 1024 });
});
afterAll(() => s.engine.close());

async function error(res: Response, status: number): Promise<{ message: string; type: string; param: string | null; code: string | null }> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/json');
  const body = (await res.json()) as { error: { message: string; type: string; param: string | null; code: string | null } };
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  return body.error;
}

describe('request bodies', () => {
  it('refuses invalid JSON, empty bodies and non-objects with 400', async () => {
    for (const raw of ['{"model": "tiny", "messages": [', '', 'null', '[1, 2]', '"text"']) {
      const e = await error(await post(s.handler, '/v1/chat/completions', raw), 400);
      expect(e.code).toBe('invalid_json');
      expect(e.type).toBe('invalid_request_error');
    }
  });

  it('refuses bodies over the limit with 413, whether declared or streamed without a length', async () => {
    const huge = JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] });
    const declared = await error(await post(s.handler, '/v1/chat/completions', huge, { 'content-length': String(huge.length) }), 413);
    expect(declared.message).toContain(String(64 * 1024));
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        sent += 16 * 1024;
        c.enqueue(new Uint8Array(16 * 1024).fill(0x20)); // a body that never ends
      },
    });
    const req = new Request('http://local/v1/chat/completions', { method: 'POST', body: endless, duplex: 'half' } as RequestInit);
    await error(await s.handler(req), 413);
    expect(sent).toBeLessThan(200 * 1024); // it stopped reading soon after the limit
  });
});

describe('parameters', () => {
  const cases: [string, Json, string][] = [
    ['negative max_tokens', { max_tokens: -5 }, 'max_tokens'],
    ['zero max_tokens', { max_tokens: 0 }, 'max_tokens'],
    ['fractional max_completion_tokens', { max_completion_tokens: 2.5 }, 'max_completion_tokens'],
    ['temperature above 2', { temperature: 3 }, 'temperature'],
    ['temperature as text', { temperature: 'hot' }, 'temperature'],
    ['top_p of 0', { top_p: 0 }, 'top_p'],
    ['n of 2', { n: 2 }, 'n'],
    ['five stop strings', { stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    ['an empty stop string', { stop: '' }, 'stop'],
    ['a fractional seed', { seed: 1.5 }, 'seed'],
    ['stream as text', { stream: 'yes' }, 'stream'],
    ['stream_options without stream', { stream_options: { include_usage: true } }, 'stream_options'],
    ['an unknown field', { max_tokenz: 5 }, 'max_tokenz'],
    ['a presence penalty', { presence_penalty: 0.5 }, 'presence_penalty'],
    ['tools', { tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools'],
    ['no messages', { messages: undefined }, 'messages'],
    ['an empty conversation', { messages: [] }, 'messages'],
    ['an unknown role', { messages: [{ role: 'wizard', content: 'hi' }] }, 'messages[0].role'],
    ['an image part', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 'messages[0].content[0]'],
    ['numeric content', { messages: [{ role: 'user', content: 42 }] }, 'messages[0].content'],
    ['no model', { model: undefined }, 'model'],
  ];
  for (const [what, patch, param] of cases) {
    it(`answers 400 naming the field for ${what}`, async () => {
      const e = await error(await post(s.handler, '/v1/chat/completions', { model: 'tiny', messages: user, max_tokens: 2, ...patch }), 400);
      expect(e.param).toBe(param);
      expect(e.message).toContain(param);
    });
  }

  it('accepts neutral OpenAI fields, text parts, and unknown fields when told to ignore them', async () => {
    const neutral = { user: 'u1', presence_penalty: 0, frequency_penalty: 0, logprobs: false, tools: [], response_format: { type: 'text' } };
    const parts = [{ role: 'developer', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'hel' }, { type: 'text', text: 'lo' }] }];
    expect((await post(s.handler, '/v1/chat/completions', { model: 'tiny', messages: parts, max_tokens: 2, ...neutral })).status).toBe(200);
    const lenient = createHandler(s.engine, { allowUnknownFields: true });
    expect((await post(lenient, '/v1/chat/completions', { model: 'tiny', messages: user, max_tokens: 2, max_tokenz: 5 })).status).toBe(200);
  });

  it('completions refuse batches, out-of-range ids and empty prompts', async () => {
    const vocab = s.engine.opened.config.vocabSize;
    for (const [prompt, code] of [[['a', 'b'], 'unsupported_value'], [[1, vocab], 'invalid_value'], ['', 'invalid_value'], [undefined, 'missing_required_parameter']] as const) {
      const e = await error(await post(s.handler, '/v1/completions', { model: 'tiny', prompt }), 400);
      expect(e.param).toBe('prompt');
      expect(e.code).toBe(code);
    }
  });

  it('reports a context overflow with the numbers', async () => {
    const ctx = s.engine.opened.config.maxPositions;
    const long = await error(await post(s.handler, '/v1/completions', { model: 'tiny', prompt: Array(ctx).fill(1) }), 400);
    expect(long.code).toBe('context_length_exceeded');
    expect(long.message).toContain(`maximum context length is ${ctx} tokens`);
    expect(long.message).toContain(`your prompt resulted in ${ctx} tokens`);
    const over = await error(await post(s.handler, '/v1/completions', { model: 'tiny', prompt: [1, 2, 3], max_tokens: ctx }), 400);
    expect(over.message).toContain(`you requested ${ctx + 3} tokens (3 in the prompt, ${ctx} in the completion)`);
  });
});

describe('routing and keys', () => {
  it('answers 404 for unknown models and URLs', async () => {
    const e = await error(await post(s.handler, '/v1/chat/completions', { model: 'gpt-4o', messages: user }), 404);
    expect(e).toMatchObject({ code: 'model_not_found', param: 'model' });
    expect(e.message).toContain('gpt-4o');
    expect((await error(await s.handler(new Request('http://local/v1/embeddings', { method: 'POST' })), 404)).code).toBe('unknown_url');
    await error(await s.handler(new Request('http://local/v1/chat/completions')), 404);
  });

  it('answers 401 for a missing, malformed or wrong key', async () => {
    const guarded: Handler = createHandler(s.engine, { apiKeys: ['sk-right'] });
    const ask = { model: 'tiny', messages: user, max_tokens: 2 };
    expect((await error(await post(guarded, '/v1/chat/completions', ask), 401)).code).toBe('missing_api_key');
    expect((await error(await post(guarded, '/v1/chat/completions', ask, { authorization: 'Basic c2stcmlnaHQ=' }), 401)).code).toBe('missing_api_key');
    expect((await error(await post(guarded, '/v1/chat/completions', ask, { authorization: 'Bearer sk-wrong' }), 401)).code).toBe('invalid_api_key');
    expect((await post(guarded, '/v1/chat/completions', ask, { authorization: 'Bearer sk-right' })).status).toBe(200);
  });
});

describe('parsers on arbitrary input', () => {
  it('return a request or throw a 400 ApiError, never anything else', () => {
    const body = fc.dictionary(fc.constantFrom('model', 'messages', 'prompt', 'max_tokens', 'temperature', 'top_p', 'stop', 'stream', 'stream_options', 'n', 'seed', 'tools', 'x'),
      fc.jsonValue(), { maxKeys: 6 });
    fc.assert(fc.property(body, fc.boolean(), (b, lenient) => {
      for (const parse of [parseChatRequest, parseCompletionRequest]) {
        try {
          parse(b as Json, lenient);
        } catch (e) {
          if (!(e instanceof ApiError) || e.status !== 400) return false;
        }
      }
      return true;
    }), { numRuns: 300 });
  });
});
