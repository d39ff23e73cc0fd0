// The scheduler on a stand-in model that records, for every forward, which request it served and which
// adapter was attached: turns go round-robin, each step runs with its own request's adapter, the queue is
// bounded (429), disconnects leave the queue or stop the generation, and close() refuses new work (503).
import { describe, expect, it } from 'vitest';
import type { GenerationModel, GenEvent } from '../../src/generate/index.js';
import { KVCache, type ForwardInput, type ForwardOutput, type Linear, type LinearAdapter } from '../../src/models/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { AdapterBank, ApiError, Scheduler, type AdapterSlot, type Job } from '../../src/serve/index.js';

const V = 16;

/** One linear layer the bank switches, and a model whose every forward logs (request tag, adapter name). */
function standIn() {
  const lin: Linear = { name: 'model.layers.0.self_attn.q_proj', weight: Tensor.zeros([1, 1]), bias: null, adapter: null };
  const names = new Map<LinearAdapter, string>();
  const log: string[] = [];
  const tags = new Map<KVCache, number>();
  const model: GenerationModel = {
    config: { vocabSize: V, maxPositions: 64, numLayers: 1, numKvHeads: 1, headDim: 1 } as GenerationModel['config'],
    forward(input: ForwardInput): ForwardOutput {
      const cache = input.cache as KVCache;
      if (!tags.has(cache)) tags.set(cache, input.ids[0]); // the prompt's first id tags the request
      cache.advance(input.seqLen);
      const tag = tags.get(cache) as number;
      log.push(`${tag}:${lin.adapter ? names.get(lin.adapter) : 'base'}`);
      const logits = new Float32Array(V);
      logits[tag] = 10; // each request repeats its own tag
      return { logits: Tensor.from(logits, [1, 1, V]), loss: null };
    },
  };
  const slot = (name: string): AdapterSlot => {
    const layer: LinearAdapter = { apply: () => Tensor.zeros([1]) };
    names.set(layer, name);
    return { name, dir: name, layers: [layer], rank: 1, adapted: 1, loadedAt: 0 };
  };
  const bank = new AdapterBank({ linears: () => [lin] });
  return { model, bank, log, slot };
}

interface Outcome {
  events: GenEvent[];
  error: unknown;
  finished: Promise<void>;
}

function job(tag: number, adapter: AdapterSlot | null, maxNewTokens: number, signal = new AbortController().signal): Job & Outcome {
  let resolve: () => void = () => undefined;
  const finished = new Promise<void>((r) => {
    resolve = r;
  });
  const out = {
    promptIds: [tag, 0, 0], options: { maxNewTokens }, adapter, signal, events: [] as GenEvent[], error: null as unknown, finished,
    onEvent(ev: GenEvent) {
      out.events.push(ev);
      if (ev.type === 'done') resolve();
    },
    onError(e: unknown) {
      out.error = e;
      resolve();
    },
  };
  return out;
}

const doneOf = (o: Outcome) => o.events.at(-1) as Extract<GenEvent, { type: 'done' }>;

describe('scheduler', () => {
  it('steps running requests round-robin, each with its own adapter attached', async () => {
    const s = standIn();
    const sched = new Scheduler({ model: s.model, endIds: [] }, s.bank, { maxConcurrent: 3, maxQueue: 0 });
    const [a, b, c] = [job(1, s.slot('A'), 3), job(2, s.slot('B'), 2), job(3, null, 3)];
    for (const j of [a, b, c]) sched.submit(j);
    await Promise.all([a.finished, b.finished, c.finished]);
    expect(s.log).toEqual(['1:A', '2:B', '3:base', '1:A', '2:B', '3:base', '1:A', '3:base']);
    expect(doneOf(a).tokens).toEqual([1, 1, 1]);
    expect(doneOf(b).tokens).toEqual([2, 2]);
    expect(doneOf(c).finishReason).toBe('length');
    expect(sched.stats()).toMatchObject({ running: 0, waiting: 0, completed: 3, aborted: 0, failed: 0 });
  });

  it('admits waiting requests in arrival order and refuses more than the queue holds with 429', async () => {
    const s = standIn();
    const sched = new Scheduler({ model: s.model, endIds: [] }, s.bank, { maxConcurrent: 1, maxQueue: 2 });
    const jobs = [job(1, null, 2), job(2, null, 2), job(3, null, 2)];
    for (const j of jobs) sched.submit(j);
    expect(sched.stats()).toMatchObject({ waiting: 3 });
    const refused = (() => {
      try {
        sched.submit(job(4, null, 2));
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(429);
    expect((refused as ApiError).headers['retry-after']).toBeDefined();
    await Promise.all(jobs.map((j) => j.finished));
    expect(s.log).toEqual(['1:base', '1:base', '2:base', '2:base', '3:base', '3:base']);
    expect(sched.stats()).toMatchObject({ rejected: 1, completed: 3 });
  });

  it('drops a queued request whose client left, and stops a running one at its next step', async () => {
    const s = standIn();
    const sched = new Scheduler({ model: s.model, endIds: [] }, s.bank, { maxConcurrent: 1, maxQueue: 4 });
    const [acRun, acWait] = [new AbortController(), new AbortController()];
    const running = job(1, null, 50, acRun.signal);
    const waiting = job(2, null, 5, acWait.signal);
    const other = job(3, null, 2);
    running.onEvent = ((orig) => (ev: GenEvent) => {
      orig(ev);
      if (running.events.length === 3) acRun.abort(); // the client goes away after three tokens
    })(running.onEvent);
    const gone = new AbortController();
    gone.abort();
    const late = job(4, null, 2, gone.signal); // the client left before the request was queued
    for (const j of [running, waiting, other, late]) sched.submit(j);
    acWait.abort();
    expect((late.error as ApiError).status).toBe(499);
    await Promise.all([running.finished, waiting.finished, other.finished]);
    expect((waiting.error as ApiError).status).toBe(499);
    expect(waiting.events).toEqual([]);
    expect(doneOf(running).finishReason).toBe('abort');
    expect(doneOf(running).tokens.length).toBe(3);
    expect(s.log.filter((l) => l.startsWith('2:'))).toEqual([]);
    expect(doneOf(other).tokens).toEqual([3, 3]);
    expect(sched.stats()).toMatchObject({ aborted: 3, completed: 1, running: 0, waiting: 0 });
  });

  it('close() stops running work, fails queued work with 503 and refuses new requests', async () => {
    const s = standIn();
    const sched = new Scheduler({ model: s.model, endIds: [] }, s.bank, { maxConcurrent: 1, maxQueue: 4 });
    const [long, queued] = [job(1, null, 60), job(2, null, 2)];
    sched.submit(long);
    sched.submit(queued);
    while (long.events.length < 2) await new Promise((r) => setImmediate(r)); // the long one is generating
    await sched.close();
    await Promise.all([long.finished, queued.finished]);
    expect(doneOf(long).finishReason).toBe('abort');
    expect((queued.error as ApiError).status).toBe(503);
    expect(() => sched.submit(job(3, null, 2))).toThrow(ApiError);
    expect(sched.isClosed).toBe(true);
  });
});
