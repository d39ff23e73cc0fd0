// Continuous batching in the scheduler, on the tiny model: concurrent requests over the base and two adapters decode
// in shared steps and each still gets exactly its own seeded direct generation; a client that leaves mid-batch stops
// only its own row; a long prompt is prefilled a chunk per turn while the running generations keep decoding, and
// short prompts share a turn's chunk; and a
// model without a row decoder keeps the round-robin path.
import { describe, expect, it } from 'vitest';
import { chatPrompt, generateText, openModel, PREFILL_CHUNK, type GenEvent, type GenerateOptions, type OpenedModel } from '../../src/generate/index.js';
import { loadAdapter } from '../../src/lora/index.js';
import { rowDecoder } from '../../src/models/index.js';
import { setComputePrecision } from '../../src/tensor/index.js';
import { AdapterBank, Scheduler, type AdapterSlot, type Job } from '../../src/serve/index.js';
import { makeAdapter, serveModelDir } from './fixtures.js';

interface Run extends Job {
  tag: string;
  events: GenEvent[];
  error: unknown;
  finished: Promise<void>;
}

/** A job whose events are kept, and logged as `tag` in `log` (the order the scheduler delivered them in). */
function job(tag: string, promptIds: number[], options: Job['options'], adapter: AdapterSlot | null, log: string[], signal = new AbortController().signal): Run {
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const run: Run = {
    tag, promptIds, options, adapter, signal, events: [], error: null, finished,
    onEvent(ev) {
      run.events.push(ev);
      log.push(tag);
      if (ev.type === 'done') done();
    },
    onError(e) {
      run.error = e;
      done();
    },
  };
  return run;
}

const textOf = (r: Run): string => r.events.map((e) => e.text).join('');
const doneOf = (r: Run) => r.events.at(-1) as Extract<GenEvent, { type: 'done' }>;

/** The model, a bank with adapters alpha and beta, and what direct generation gives for a prompt under one of them. */
function setup() {
  const dir = serveModelDir();
  const opened = openModel(dir);
  const bank = new AdapterBank(opened.model);
  const dirs = { alpha: makeAdapter(dir, 1), beta: makeAdapter(dir, 2) };
  const slots = { alpha: bank.load('alpha', dirs.alpha), beta: bank.load('beta', dirs.beta) };
  const direct = async (adapter: keyof typeof dirs | null, ids: number[], opts: GenerateOptions): Promise<string> => {
    const m = openModel(dir);
    const set = adapter ? loadAdapter(dirs[adapter], m.model) : null;
    try {
      return (await generateText(m, ids, opts)).text;
    } finally {
      set?.detach();
    }
  };
  return { opened, bank, slots, direct };
}

const ask = (m: OpenedModel, q: string): number[] => chatPrompt(m.tokenizer, [{ role: 'user', content: q }]);

describe('continuous batching', () => {
  it('decodes concurrent requests over mixed adapters together, each exactly as its direct seeded generation', async () => {
    const { opened, bank, slots, direct } = setup();
    expect(rowDecoder(opened.model)).not.toBeNull();
    const sched = new Scheduler(opened, bank, { maxConcurrent: 8, maxQueue: 8 });
    const names = [null, 'alpha', 'beta'] as const;
    const log: string[] = [];
    const runs = Array.from({ length: 10 }, (_, i) => {
      const name = names[i % 3];
      const ids = ask(opened, `Question ${i}: ${'why '.repeat(i)}is the sky blue?`); // prompts of different lengths
      return { name, ids, run: job(String(i), ids, { maxNewTokens: 6 + i, temperature: 1, seed: 100 + i }, name ? slots[name] : null, log) };
    });
    for (const r of runs) sched.submit(r.run);
    await Promise.all(runs.map((r) => r.run.finished));
    for (const [i, r] of runs.entries()) {
      expect(r.run.error).toBeNull();
      expect(textOf(r.run), `request ${i} (${r.name ?? 'base'})`).toBe(await direct(r.name, r.ids, { maxNewTokens: 6 + i, temperature: 1, seed: 100 + i }));
    }
    const tokens = runs.reduce((a, r) => a + doneOf(r.run).usage.completionTokens, 0);
    const stats = sched.stats();
    expect(stats).toMatchObject({ completed: 10, failed: 0, aborted: 0 });
    // one forward per prefill chunk plus one per decode step: far fewer than one per token when rows share steps
    expect(stats.steps).toBeLessThan(10 + tokens / 2);
  });

  it('stops only the row whose client left mid-batch', async () => {
    const { opened, bank, slots, direct } = setup();
    const sched = new Scheduler(opened, bank, { maxConcurrent: 4, maxQueue: 0 });
    const log: string[] = [];
    const leave = new AbortController();
    const ids = ask(opened, 'Tell me about returns.');
    const opts = (seed: number) => ({ maxNewTokens: 12, temperature: 1, seed, endIds: [] });
    const gone = job('gone', ids, opts(1), slots.alpha, log, leave.signal);
    const stay = [job('a', ids, opts(2), slots.alpha, log), job('b', ids, opts(3), slots.beta, log), job('c', ids, opts(4), null, log)];
    gone.onEvent = ((orig) => (ev: GenEvent) => {
      orig(ev);
      if (gone.events.length === 3) leave.abort(); // the client goes away after three tokens
    })(gone.onEvent.bind(gone));
    for (const j of [gone, ...stay]) sched.submit(j);
    await Promise.all([gone, ...stay].map((j) => j.finished));
    expect(doneOf(gone).finishReason).toBe('abort');
    expect(doneOf(gone).usage.completionTokens).toBeLessThan(6);
    expect(textOf(stay[0])).toBe(await direct('alpha', ids, opts(2)));
    expect(textOf(stay[1])).toBe(await direct('beta', ids, opts(3)));
    expect(textOf(stay[2])).toBe(await direct(null, ids, opts(4)));
    expect(stay.map((j) => doneOf(j).usage.completionTokens)).toEqual([12, 12, 12]);
    expect(sched.stats()).toMatchObject({ completed: 3, aborted: 1, running: 0 });
  });

  it('prefills a long prompt a chunk per turn while the running generations keep decoding', async () => {
    const { opened, bank, direct } = setup();
    const sched = new Scheduler(opened, bank, { maxConcurrent: 4, maxQueue: 0 });
    const log: string[] = [];
    const short = ask(opened, 'Hi');
    const long = ask(opened, 'please read this carefully: ' + 'the quick brown fox jumps over the lazy dog. '.repeat(8));
    const chunks = Math.ceil(long.length / PREFILL_CHUNK);
    expect(chunks).toBeGreaterThanOrEqual(3);
    const opts = (seed: number) => ({ maxNewTokens: 40, temperature: 1, seed, endIds: [] });
    const running = [job('r1', short, opts(5), null, log), job('r2', short, opts(6), null, log)];
    for (const j of running) sched.submit(j);
    // the long request arrives once both are decoding
    while (log.filter((t) => t === 'r2').length < 2) await new Promise((r) => setImmediate(r));
    const late = job('long', long, opts(7), null, log);
    const at = log.length;
    sched.submit(late);
    await Promise.all([...running, late].map((j) => j.finished));
    const firstLong = log.indexOf('long');
    const between = log.slice(at, firstLong);
    // a decode step of the others after every prefill chunk but the last (whose turn also samples the first token)
    expect(between.filter((t) => t === 'r1').length).toBeGreaterThanOrEqual(chunks - 1);
    expect(between.filter((t) => t === 'r2').length).toBeGreaterThanOrEqual(chunks - 1);
    expect(textOf(late)).toBe(await direct(null, long, opts(7)));
    expect(textOf(running[0])).toBe(await direct(null, short, opts(5)));
  });

  it('reads several short prompts in one step (up to two chunks of tokens), each still as its direct generation', async () => {
    const { opened, bank, slots, direct } = setup();
    const sched = new Scheduler(opened, bank, { maxConcurrent: 8, maxQueue: 0 });
    const log: string[] = [];
    const ids = [ask(opened, 'Hi'), ask(opened, 'Hello'), ask(opened, 'Hey there')];
    const total = ids.reduce((a, x) => a + x.length, 0);
    expect(total).toBeLessThanOrEqual(PREFILL_CHUNK); // all three fit in one turn's budget
    const opts = (seed: number) => ({ maxNewTokens: 2, temperature: 1, seed, endIds: [] });
    const adapters = [null, slots.alpha, slots.beta];
    const runs = ids.map((x, i) => job(String(i), x, opts(20 + i), adapters[i], log));
    for (const j of runs) sched.submit(j);
    await Promise.all(runs.map((j) => j.finished));
    // the three prompts in one step, then the second token of all three in the next (prompts stepped one at a
    // time before the decode step would take 4 steps, a prompt per turn each with its own decode step 6)
    expect(sched.stats()).toMatchObject({ completed: 3, steps: 2 });
    const names = [null, 'alpha', 'beta'] as const;
    for (const [i, j] of runs.entries()) expect(textOf(j)).toBe(await direct(names[i], ids[i], opts(20 + i)));
  });

  it('falls back to round-robin steps for a model without a row decoder (bf16 compute), with the same texts', async () => {
    const prev = setComputePrecision('bf16');
    try {
      const { opened, bank, slots, direct } = setup();
      expect(rowDecoder(opened.model)).toBeNull();
      const sched = new Scheduler(opened, bank, { maxConcurrent: 3, maxQueue: 0 });
      const log: string[] = [];
      const ids = ask(opened, 'What are your hours?');
      const opts = (seed: number) => ({ maxNewTokens: 5, temperature: 1, seed, endIds: [] });
      const runs = [job('x', ids, opts(1), slots.alpha, log), job('y', ids, opts(2), null, log), job('z', ids, opts(3), slots.beta, log)];
      for (const j of runs) sched.submit(j);
      await Promise.all(runs.map((j) => j.finished));
      // one step at a time, the requests in turn: x y z x y z ... (each takes 5 token steps and one for its end)
      expect(log).toEqual(Array.from({ length: 18 }, (_, i) => 'xyz'[i % 3]));
      expect(sched.stats().steps).toBe(18);
      expect(textOf(runs[0])).toBe(await direct('alpha', ids, opts(1)));
      expect(textOf(runs[1])).toBe(await direct(null, ids, opts(2)));
      expect(textOf(runs[2])).toBe(await direct('beta', ids, opts(3)));
    } finally {
      setComputePrecision(prev);
    }
  });
});
