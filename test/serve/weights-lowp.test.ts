// The server over a model held in bf16 or int8 (serve --weights bf16|int8): each model (base and unfused adapters)
// answers exactly as the library generates with the same weights, alone or with requests decoded together in one
// batched step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel } from '../../src/generate/index.js';
import { createHandler, Engine } from '../../src/serve/index.js';
import { setWeightFormat, weightFormat, type WeightFormat } from '../../src/tensor/index.js';
import { directChat, makeAdapter, post, serveModelDir, type Json } from './fixtures.js';

const messages = [{ role: 'user', content: 'Where is my order?' }];

describe.each<WeightFormat>(['bf16', 'int8'])('serve with %s weights', (format) => {
  let engine: Engine;
  let handler: ReturnType<typeof createHandler>;
  let dirs: Record<string, string | null>;
  let modelDir: string;

  beforeAll(() => {
    modelDir = serveModelDir();
    dirs = { tiny: null, alpha: makeAdapter(modelDir, 1), beta: makeAdapter(modelDir, 2) };
    engine = new Engine(openModel(modelDir, { weights: format }), {
      baseId: 'tiny', adapters: [{ name: 'alpha', dir: dirs.alpha! }, { name: 'beta', dir: dirs.beta! }],
    });
    handler = createHandler(engine, { log: () => undefined });
  });
  afterAll(() => {
    engine.close();
    setWeightFormat('f32');
  });

  const ask = async (model: string, seed: number): Promise<string> => {
    const res = await post(handler, '/v1/chat/completions', { model, messages, max_tokens: 10, temperature: 1, seed });
    expect(res.status).toBe(200);
    return (((await res.json()) as Json).choices as Json[]).map((c) => (c.message as Json).content as string)[0];
  };

  it('answers as the library generates on the same weights, alone and batched', async () => {
    expect(weightFormat()).toBe(format);
    const asks = ['tiny', 'alpha', 'beta', 'beta', 'alpha', 'tiny'].map((model, i) => ({ model, seed: 40 + i }));
    const steps = () => engine.scheduler.stats().steps;
    const s0 = steps();
    const alone: string[] = [];
    for (const a of asks) alone.push(await ask(a.model, a.seed));
    const s1 = steps();
    const together = await Promise.all(asks.map((a) => ask(a.model, a.seed)));
    expect(together).toEqual(alone);
    // batched: the six requests share their decode steps (one after another they take six times as many)
    expect(steps() - s1).toBeLessThan((s1 - s0) / 2);
    for (const [i, a] of asks.entries()) {
      // the direct model is opened in f32 storage: under the format its weights round (quantize) to the same values
      const want = await directChat(modelDir, dirs[a.model], messages, { maxNewTokens: 10, temperature: 1, seed: a.seed });
      expect(alone[i]).toBe(want);
    }
    expect(new Set(alone).size).toBeGreaterThan(3);
  });
});
