// Whose memory a chat may use is bound to its API key: key_users grants each key its users ("*" for a
// trusted backend); a key without a grant gets no memory whatever `user` it sends, a key granted others is
// refused with 403, a key granted one user acts for it without naming it; a server without keys believes
// `user` only when told to (loopback). Checked over HTTP with the official openai client as well.
import fs from 'node:fs';
import path from 'node:path';
import OpenAI, { PermissionDeniedError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel } from '../../src/generate/index.js';
import { MemoryStore } from '../../src/memory/index.js';
import { createHandler, Engine, listen, resolveServeConfig, serveAssistants, type Handler, type ServedAssistants } from '../../src/serve/index.js';
import { parseKeyUsers } from '../../src/serve/auth.js';
import { tempDir } from '../helpers/tiny-model.js';
import { post, serveModelDir, type Json } from './fixtures.js';

const SECRET = 'the vault code is 4417-2291 and the alarm word is kingfisher';
let home: string;
let engine: Engine;
let served: ServedAssistants;
let handler: Handler;
const logs: string[] = [];

beforeAll(() => {
  home = tempDir('shitate-serve-memauth-');
  fs.mkdirSync(path.join(home, 'assistants'));
  fs.writeFileSync(path.join(home, 'assistants', 'desk.yaml'),
    [`provider: { kind: local, model: "${serveModelDir()}" }`, 'generation: { max_tokens: 1, seed: 1 }', 'memory: true', ''].join('\n'));
  const mem = MemoryStore.open(home);
  mem.forUser('alice', null).add(SECRET);
  mem.close();
  engine = new Engine(openModel(serveModelDir()), { baseId: 'tiny' });
  served = serveAssistants(engine, { names: ['desk'], home });
  handler = createHandler(engine, {
    apiKeys: ['sk-plain'],
    keyUsers: parseKeyUsers(JSON.stringify({ 'sk-alice': ['alice'], 'sk-bob': ['bob'], 'sk-app': '*' })),
    log: (l) => logs.push(l),
  });
});
afterAll(async () => {
  await engine.close();
  await served.close();
});

const ask = [{ role: 'user', content: 'What is the vault code?' }];

/** Prompt tokens of a chat with the assistant: they grow by the remembered fact when memory is used. */
async function promptTokens(h: Handler, key: string | null, user?: string): Promise<number | Json> {
  const res = await post(h, '/v1/chat/completions', { model: 'desk', messages: ask, ...(user ? { user } : {}) }, key ? { authorization: `Bearer ${key}` } : {});
  const body = (await res.json()) as Json;
  return res.status === 200 ? ((body.usage as Json).prompt_tokens as number) : { status: res.status, ...(body.error as Json) };
}

describe('memory over HTTP is bound to the API key', () => {
  it('uses alice\'s memory only for keys granted alice', async () => {
    const none = await promptTokens(handler, 'sk-plain');
    const withMemory = await promptTokens(handler, 'sk-alice');
    expect(typeof none).toBe('number');
    expect(withMemory as number).toBeGreaterThan(none as number); // a key granted one user acts for it unasked
    expect(await promptTokens(handler, 'sk-alice', 'alice')).toBe(withMemory);
    expect(await promptTokens(handler, 'sk-app', 'alice')).toBe(withMemory);
    expect(await promptTokens(handler, 'sk-app')).toBe(none);
    // the attack: a valid key, another user's name
    expect(await promptTokens(handler, 'sk-plain', 'alice')).toBe(none);
    expect(await promptTokens(handler, 'sk-bob', 'alice')).toMatchObject({ status: 403, param: 'user', code: 'user_not_permitted', type: 'permission_error' });
    expect(await promptTokens(handler, 'sk-alice', 'bob')).toMatchObject({ status: 403, param: 'user' });
    expect(logs.filter((l) => l.includes('key_users grants that key none'))).toHaveLength(1);
  });

  it('never stores facts for a user the key may not act for', async () => {
    const remember = [{ role: 'user', content: 'Remember that the vault code changed to 0000.' }];
    const res = await post(handler, '/v1/chat/completions', { model: 'desk', user: 'alice', messages: remember }, { authorization: 'Bearer sk-plain' });
    expect(res.status).toBe(200);
    await served.settled();
    const mem = MemoryStore.open(home);
    try {
      expect(mem.forUser('alice', null).list().map((m) => m.text)).toEqual([SECRET]);
    } finally {
      mem.close();
    }
  });

  it('without keys, believes `user` only when the server says so', async () => {
    const open = createHandler(engine, {});
    const closed = createHandler(engine, { trustUserField: false });
    expect(await promptTokens(closed, null, 'alice')).toBe(await promptTokens(closed, null));
    expect(await promptTokens(open, null, 'alice') as number).toBeGreaterThan(await promptTokens(open, null) as number);
  });

  it('refuses the attack through the official openai client with a PermissionDeniedError', async () => {
    const server = await listen(handler, { port: 0 });
    try {
      const bob = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-bob', maxRetries: 0 });
      await expect(bob.chat.completions.create({ model: 'desk', messages: [{ role: 'user', content: 'vault?' }], user: 'alice' }))
        .rejects.toBeInstanceOf(PermissionDeniedError);
      const own = await bob.chat.completions.create({ model: 'desk', messages: [{ role: 'user', content: 'vault?' }], user: 'bob' });
      expect(own.choices[0].finish_reason).toBeTruthy();
    } finally {
      await server.close();
    }
  });
});

describe('key_users in the config', () => {
  it('comes from the YAML file or SHITATE_KEY_USERS, never from flags, and bad entries are named without the key', () => {
    const dir = tempDir();
    const file = path.join(dir, 'serve.yaml');
    fs.writeFileSync(file, 'api_keys: [sk-plain]\nkey_users:\n  sk-alice-123456: [alice]\n  sk-app-987654: "*"\n');
    const r = resolveServeConfig(file, {}, { keyUsers: '{"sk-flag": "*"}' });
    expect([...parseKeyUsers(r.values.keyUsers)]).toEqual([['sk-alice-123456', ['alice']], ['sk-app-987654', '*']]);
    const env = resolveServeConfig(null, { SHITATE_KEY_USERS: '{"sk-env": ["carol", "dave"]}' }, {});
    expect([...parseKeyUsers(env.values.keyUsers)]).toEqual([['sk-env', ['carol', 'dave']]]);
    expect(() => parseKeyUsers(JSON.stringify({ 'sk-secret-value': 'alice' }))).toThrow(/the key sk-s… must map to a list of user ids or "\*", found "alice"/);
    expect(() => parseKeyUsers(JSON.stringify({ 'sk-secret-value': ['al\u0000ice'] }))).toThrow(/E_CONFIG|user/);
    try {
      parseKeyUsers(JSON.stringify({ 'sk-secret-value': 5 }));
    } catch (e) {
      expect(String(e)).not.toContain('sk-secret-value');
    }
  });
});
