// Hostile request bodies: keys named after Object.prototype members ("__proto__", "constructor",
// "toString", ...) are unknown fields (400 naming them), never inherited behaviour or a 500, anywhere in the
// body; a fuzzed validator only ever accepts or answers 400; NUL bytes and lone surrogates in messages reach
// an assistant with a knowledge base and memory without a 500, and are cleaned before anything stores them.
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel } from '../../src/generate/index.js';
import { MemoryStore } from '../../src/memory/index.js';
import { ingest, KnowledgeBase } from '../../src/rag/index.js';
import { createHandler, Engine, serveAssistants, type Handler, type ServedAssistants } from '../../src/serve/index.js';
import { parseJsonNoProto } from '../../src/serve/body.js';
import { ApiError } from '../../src/serve/errors.js';
import { parseChatRequest, parseCompletionRequest } from '../../src/serve/request.js';
import { tempDir } from '../helpers/tiny-model.js';
import { post, serveModelDir, type Json } from './fixtures.js';

const PROTO_KEYS = [...Object.getOwnPropertyNames(Object.prototype), 'prototype'];
const FC = { seed: Number(process.env.FC_SEED ?? 6), numRuns: 300 };

let home: string;
let engine: Engine;
let handler: Handler;
let served: ServedAssistants;

beforeAll(async () => {
  home = tempDir('shitate-serve-hostile-');
  const docs = path.join(home, 'docs');
  fs.mkdirSync(docs);
  fs.writeFileSync(path.join(docs, 'hours.md'), '# 営業時間\n\n営業時間は平日の9時から18時です。\n');
  const kb = KnowledgeBase.open(home, 'handbook', { create: true });
  await ingest(kb, ['docs'], { cwd: home });
  kb.close();
  fs.mkdirSync(path.join(home, 'assistants'));
  fs.writeFileSync(path.join(home, 'assistants', 'desk.yaml'), [`provider: { kind: local, model: "${serveModelDir()}" }`,
    'generation: { max_tokens: 4, seed: 1 }', 'knowledge: { bases: [handbook], mode: chunks, top_k: 1 }', 'memory: true', ''].join('\n'));
  engine = new Engine(openModel(serveModelDir()), { baseId: 'tiny' });
  handler = createHandler(engine, {});
  served = serveAssistants(engine, { names: ['desk'], home });
});
afterAll(async () => {
  await engine.close();
  await served.close();
});

/** A chat body as raw JSON text with one extra key (JSON.stringify cannot write an own "__proto__"). */
const withKey = (base: Json, key: string, value: string): string => `${JSON.stringify(base).slice(0, -1)},${JSON.stringify(key)}:${value}}`;

async function errorOf(res: Response): Promise<Json> {
  return ((await res.json()) as { error: Json }).error;
}

describe('prototype-named keys', () => {
  it('are unknown fields at the top level of every endpoint: 400 naming the key, never 200 or 500', async () => {
    const bodies: [string, Json][] = [
      ['/v1/chat/completions', { model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }],
      ['/v1/completions', { model: 'tiny', prompt: 'hi', max_tokens: 1 }],
      ['/admin/adapters', { name: 'x', path: '/nowhere' }],
    ];
    for (const [url, base] of bodies) {
      for (const key of PROTO_KEYS) {
        for (const value of ['1', '{"polluted": true}', '"x"', '[]']) {
          const res = await post(handler, url, withKey(base, key, value));
          expect(res.status, `${url} ${key}: ${value}`).toBe(400);
          expect(await errorOf(res)).toMatchObject({ param: key, code: 'unknown_parameter' });
        }
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('inside messages and stream_options they change nothing', async () => {
    const messages = '[{"role":"user","content":"hi","__proto__":{"role":"system"},"constructor":{"name":"x"}}]';
    const res = await post(handler, '/v1/chat/completions', `{"model":"tiny","max_tokens":1,"messages":${messages}}`);
    expect(res.status).toBe(200);
    const so = await post(handler, '/v1/chat/completions', '{"model":"tiny","max_tokens":1,"stream":true,"stream_options":{"__proto__":{"include_usage":true}},"messages":[{"role":"user","content":"hi"}]}');
    expect(so.status).toBe(200);
    expect(await so.text()).not.toMatch(/"choices":\[\]/); // no usage-only chunk: include_usage was not inherited
  });

  it('parse into objects without a prototype', () => {
    const o = parseJsonNoProto('{"__proto__": {"a": 1}, "b": {"constructor": 2}}') as Record<string, Record<string, unknown>>;
    expect(Object.getPrototypeOf(o)).toBe(null);
    expect(Object.keys(o)).toEqual(['__proto__', 'b']);
    expect(o.b.constructor).toBe(2);
  });
});

const jsonValue = fc.oneof(fc.constant('null'), fc.constant('0'), fc.constant('1'), fc.constant('true'), fc.constant('"auto"'), fc.constant('[]'),
  fc.constant('{}'), fc.constant('{"type":"text"}'), fc.jsonValue().map((v) => JSON.stringify(v)));
const anyKey = fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.constantFrom('temperature', 'stop', 'logprobs', 'tools', 'user', 'n', 'seed', 'echo'), fc.string({ maxLength: 12 }));

describe('validator fuzzing', () => {
  it('answers every body with a checked request or a 400 naming a field; prototype keys never pass', () => {
    fc.assert(fc.property(fc.array(fc.tuple(anyKey, jsonValue), { maxLength: 5 }), fc.boolean(), (extra, chat) => {
      const base = chat ? { model: 'm', messages: [{ role: 'user', content: 'q' }] } : { model: 'm', prompt: 'p' };
      const text = extra.reduce((t, [k, v]) => withKey(JSON.parse(t) as Json, k, v), JSON.stringify(base));
      // duplicate keys: JSON keeps the last one, so judge by what the parser kept
      const body = parseJsonNoProto(text) as Record<string, unknown>;
      const proto = Object.keys(body).some((k) => PROTO_KEYS.includes(k) && body[k] !== null);
      try {
        if (chat) parseChatRequest(body, false);
        else parseCompletionRequest(body, false);
        expect(proto).toBe(false);
      } catch (e) {
        expect(e).toBeInstanceOf(ApiError);
        expect((e as ApiError).status).toBe(400);
        expect((e as ApiError).param).not.toBe(null);
      }
    }), FC);
  });
});

describe('NUL bytes and lone surrogates over HTTP', () => {
  it('reach the base model and an assistant with knowledge and memory without a 500', async () => {
    for (const content of ['営業時間は\\u0000いつ?', '営業\\ud800時間', '\\udc00\\u0000', 'Remember that 好きな色は\\u0000青\\ud83d']) {
      for (const model of ['tiny', 'desk']) {
        const res = await post(handler, '/v1/chat/completions', `{"model":"${model}","user":"alice","max_tokens":2,"messages":[{"role":"user","content":"${content}"}]}`);
        expect(res.status, `${model} ${content}`).toBe(200);
      }
    }
    await served.settled();
    const mem = MemoryStore.open(home);
    try {
      expect(mem.forUser('alice', 'desk').list().map((m) => m.text)).toEqual(['好きな色は青\ufffd']);
    } finally {
      mem.close();
    }
  });

  it('refuses a user id with control characters with 400 naming the field', async () => {
    const res = await post(handler, '/v1/chat/completions', '{"model":"desk","user":"al\\u0000ice","messages":[{"role":"user","content":"hi"}]}');
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ param: 'user' });
  });
});
