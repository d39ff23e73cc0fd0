// POST /v1/embeddings: the official openai client's embeddings.create (which asks for base64 and decodes it)
// gets one vector per input of the model's size, equal to the library's own embeddings; float format, shortened
// dimensions, input_type prompts, token-id input, errors in OpenAI's shape; beside a chat model and alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { createEmbeddingHandler, EmbeddingService, listen, type RunningServer } from '../../src/serve/index.js';
import { serveTiny } from './fixtures.js';
import { tinyEncoderDir } from '../helpers/tiny-encoder.js';

const E5 = () => tinyEncoderDir({ arch: 'xlm-roberta', name: 'multilingual-e5-tiny', sentence: { pooling: 'mean', normalize: true } });
const TEXTS = ['送料はいくらですか？', '郵送代はいくら？', 'ポイントの有効期限'];

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('an embeddings-only server', () => {
  const service = new EmbeddingService(E5());
  let server: RunningServer;
  let client: OpenAI;

  beforeAll(async () => {
    server = await listen(createEmbeddingHandler(service), { port: 0 });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => server.close());

  it('answers embeddings.create with one vector of the model\'s size per input, as the library computes it', async () => {
    const r = await client.embeddings.create({ model: 'multilingual-e5-tiny', input: TEXTS });
    expect(r.object).toBe('list');
    expect(r.model).toBe('multilingual-e5-tiny');
    expect(r.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const local = service.embedder.embed(TEXTS).vectors;
    r.data.forEach((d, i) => {
      expect(d.object).toBe('embedding');
      expect(d.embedding).toHaveLength(service.embedder.dims);
      expect(maxDiff(d.embedding, local[i])).toBe(0); // base64 float32 carries the exact values
    });
    expect(r.usage.prompt_tokens).toBe(service.embedder.tokenize(TEXTS, 'none').flat().length);
    expect(r.usage.total_tokens).toBe(r.usage.prompt_tokens);
    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    expect(models).toEqual(['multilingual-e5-tiny']);
  });

  it('float format, shortened dimensions, query prompts and token ids', async () => {
    const f = await client.embeddings.create({ model: 'multilingual-e5-tiny', input: TEXTS[0], encoding_format: 'float', dimensions: 8 });
    expect(f.data[0].embedding).toHaveLength(8);
    expect(Math.hypot(...f.data[0].embedding)).toBeCloseTo(1, 5);
    const q = await client.embeddings.create({ model: 'multilingual-e5-tiny', input: [TEXTS[0]], input_type: 'query' } as OpenAI.EmbeddingCreateParams);
    expect(maxDiff(q.data[0].embedding, service.embedder.embed([TEXTS[0]], 'query').vectors[0])).toBe(0);
    const ids = service.embedder.text.tokenizer.encode(TEXTS[1], { addSpecialTokens: false });
    const t = await client.embeddings.create({ model: 'multilingual-e5-tiny', input: [ids] });
    expect(maxDiff(t.data[0].embedding, service.embedder.embed([TEXTS[1]]).vectors[0])).toBeLessThan(1e-6);
  });

  it('refuses bad requests with OpenAI-shaped errors', async () => {
    await expect(client.embeddings.create({ model: 'other', input: 'x' })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(client.embeddings.create({ model: 'multilingual-e5-tiny', input: '' })).rejects.toMatchObject({ status: 400, param: 'input' });
    await expect(client.embeddings.create({ model: 'multilingual-e5-tiny', input: 'x', dimensions: 10_000 })).rejects.toMatchObject({ status: 400, param: 'dimensions' });
    await expect(client.embeddings.create({ model: 'multilingual-e5-tiny', input: [[10_000_000]] })).rejects.toMatchObject({ status: 400, param: 'input' });
    const res = await fetch(`${server.url}/v1/embeddings`, { method: 'POST', body: JSON.stringify({ model: 'multilingual-e5-tiny', input: 'x', temperature: 1 }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('temperature');
  });
});

describe('embeddings beside a chat model', () => {
  it('lists the embedding model with the chat models and answers both', async () => {
    const service = new EmbeddingService(E5(), { id: 'e5' });
    const { handler } = serveTiny({ embeddings: service, apiKeys: ['k1'] });
    const server = await listen(handler, { port: 0 });
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'k1', maxRetries: 0 });
      const ids = [];
      for await (const m of client.models.list()) ids.push(m.id);
      expect(ids).toEqual(['tiny', 'alpha', 'beta', 'e5']);
      const e = await client.embeddings.create({ model: 'e5', input: ['返品できますか'] });
      expect(e.data[0].embedding).toHaveLength(32);
      const chat = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
      expect(chat.choices).toHaveLength(1);
      const noKey = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
      await expect(noKey.embeddings.create({ model: 'e5', input: 'x' })).rejects.toMatchObject({ status: 401 });
    } finally {
      await server.close();
    }
  });
});
