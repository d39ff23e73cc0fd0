// Runs every generation of the server on the one model.
//
// Policy: at most `maxConcurrent` generations are running; more requests wait in a FIFO queue of at most `maxQueue`;
// beyond that the server answers 429 at once. Models with a row decoder (the shared Llama-shaped decoder in float32)
// run continuously batched: each turn is one step for every running generation together, whatever adapter each uses
// (the base GEMMs are shared, each adapter's low-rank term is added to its own rows): one token for each generation
// past its prefill and the next prompt chunk of those still prefilling, up to two chunks' worth of prompt tokens
// per step (the prompts take turns). Other models take turns round-robin,
// one forward step per generation, with the stepped generation's adapter activated just before its step.
// Why this shape: the model runs on the main thread, so a step is the unit of work that blocks the event loop; a
// macrotask turn after every step lets health checks, new requests and disconnects be handled between any two
// steps; a long prompt holds the others up for one chunk at a time, never for its whole prefill; and only this loop
// ever runs a forward, so the adapter attached during a round-robin step is always its request's. Each
// generation owns its KV cache and sampler, and a batched row is computed bit for bit as the same row alone
// (models/decode-rows.ts), so a seeded request gives the same text alone or under load.
import { Generation, PREFILL_CHUNK, generate, type GenEvent, type GenerateOptions, type GenerateTarget } from '../generate/index.js';
import { rowDecoder } from '../models/index.js';
import type { AdapterBank, AdapterSlot } from './adapters.js';
import { ApiError } from './errors.js';

export interface Job {
  promptIds: number[];
  /** generation options (the scheduler supplies the abort signal) */
  options: Omit<GenerateOptions, 'signal'>;
  adapter: AdapterSlot | null;
  /** aborted when the client goes away: a queued job leaves the queue, a running one stops at its next step */
  signal: AbortSignal;
  /** each event of the generation, in order; the last one is the 'done' event */
  onEvent(ev: GenEvent): void;
  /** the generation failed, or was dropped before it started */
  onError(e: unknown): void;
}

export interface SchedulerLimits {
  /** generations stepped in turn */
  maxConcurrent: number;
  /** requests waiting for a turn; more are refused with 429 */
  maxQueue: number;
}

export interface SchedulerStats {
  running: number;
  waiting: number;
  completed: number;
  aborted: number;
  failed: number;
  rejected: number;
  steps: number;
}

interface Active {
  job: Job;
  /** batched path: the stepped generation (models with a row decoder) */
  gen: Generation | null;
  /** round-robin path: the generation as an iterator (other models) */
  iter: AsyncGenerator<GenEvent> | null;
  abort: AbortController;
  /** the consumer failed; events are no longer delivered */
  gone: boolean;
}

/** Tells a job that never ran why; a consumer that throws here is already gone, which is the news. */
function notify(job: Job, e: ApiError): void {
  try {
    job.onError(e);
  } catch {
    // nothing is left to tell
  }
}

const clientClosed = (): ApiError => new ApiError(499, 'the client closed the request before it started', { code: 'client_closed_request' });

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Turns of the event loop between two batched steps: until one comes back with nothing done, at most
 *  SETTLE_TURNS. Requests that arrive while a step runs are taken up one per turn (measured under 32 streaming
 *  clients: with a single turn between steps, one new request joined each step, so a burst of 32 took 32 steps to
 *  reach the batch); with these turns they join the next step together. An idle turn costs microseconds. */
const SETTLE_TURNS = 32;
const IDLE_TURN_MS = 0.2;

async function settle(): Promise<void> {
  for (let i = 0; i < SETTLE_TURNS; i++) {
    const t0 = performance.now();
    await tick();
    if (i > 0 && performance.now() - t0 < IDLE_TURN_MS) return;
  }
}

/** Prompt tokens a batched step may carry beside its decoding rows: two chunks' worth. More prompt tokens per step
 *  lets a burst of requests reach the decode batch sooner and spreads each step's weight reads over more tokens;
 *  each step, and so each running stream's next token, takes longer while prompts are read (shitate serve,
 *  SmolLM2-135M shape, bf16, 32 clients, two runs each: 593-622 completion tokens/s at two chunks, 516-533 at four). */
const STEP_PROMPT_TOKENS = 2 * PREFILL_CHUNK;

export class Scheduler {
  private readonly running: Active[] = [];
  private readonly waiting: Job[] = [];
  private loop: Promise<void> | null = null;
  /** the generation whose step is in progress (out of `running` meanwhile) */
  private stepping: Active | null = null;
  private closed = false;
  private readonly counts = { completed: 0, aborted: 0, failed: 0, rejected: 0, steps: 0 };

  constructor(
    private readonly target: GenerateTarget,
    private readonly bank: AdapterBank,
    readonly limits: SchedulerLimits,
  ) {}

  /** Queues a generation; throws ApiError 503 when closed and 429 when the queue is full. */
  submit(job: Job): void {
    if (this.closed) throw new ApiError(503, 'the server is shutting down and accepts no new requests', { code: 'server_shutting_down' });
    if (job.signal.aborted) {
      this.counts.aborted++;
      return notify(job, clientClosed());
    }
    const { running, waiting } = this.stats();
    const queued = running + waiting;
    if (queued >= this.limits.maxConcurrent + this.limits.maxQueue) {
      this.counts.rejected++;
      throw new ApiError(429, `the server is busy: ${running} requests are generating and ${waiting} are waiting ` +
        `(at most ${this.limits.maxQueue} may wait); retry shortly`, { code: 'queue_full', headers: { 'retry-after': '1' } });
    }
    this.waiting.push(job);
    job.signal.addEventListener('abort', () => this.dropWaiting(job), { once: true });
    this.loop ??= this.run().finally(() => {
      this.loop = null;
    });
  }

  stats(): SchedulerStats {
    return { running: this.running.length + (this.stepping ? 1 : 0), waiting: this.waiting.length, ...this.counts };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Refuses new work, drops the queue (503) and stops the running generations at their next step. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.splice(0)) {
      this.counts.aborted++;
      notify(job, new ApiError(503, 'the server shut down before this request started', { code: 'server_shutting_down' }));
    }
    for (const a of [...this.running, ...(this.stepping ? [this.stepping] : [])]) a.abort.abort();
    await this.idle();
  }

  /** Resolves once nothing is running or waiting. */
  async idle(): Promise<void> {
    while (this.loop) await this.loop;
  }

  private dropWaiting(job: Job): void {
    const i = this.waiting.indexOf(job);
    if (i < 0) return; // already running: the generation sees the abort at its next step
    this.waiting.splice(i, 1);
    this.counts.aborted++;
    notify(job, clientClosed());
  }

  private admit(): void {
    if (this.running.length >= this.limits.maxConcurrent || this.waiting.length === 0) return;
    const batched = rowDecoder(this.target.model) !== null;
    while (this.running.length < this.limits.maxConcurrent && this.waiting.length > 0) {
      const job = this.waiting.shift() as Job;
      const abort = new AbortController();
      if (job.signal.aborted) abort.abort();
      else job.signal.addEventListener('abort', () => abort.abort(), { once: true });
      const a: Active = { job, gen: null, iter: null, abort, gone: false };
      if (!batched) a.iter = generate(this.target, job.promptIds, { ...job.options, signal: abort.signal });
      else {
        try {
          a.gen = new Generation(this.target, job.promptIds, job.options);
        } catch (e) {
          this.fail(a, e); // a request the generator refuses (the round-robin path reports it at its first step)
          continue;
        }
      }
      this.running.push(a);
    }
  }

  private async run(): Promise<void> {
    await tick(); // never step inside submit(): requests arriving in the same turn start together
    for (;;) {
      this.admit();
      if (this.running.length === 0) return;
      if (this.running.some((a) => a.gen)) await this.batchedTurn();
      const a = this.running.find((r) => r.iter);
      if (!a) continue;
      this.running.splice(this.running.indexOf(a), 1);
      this.stepping = a;
      const goesOn = this.step(a, await this.next(a));
      this.stepping = null;
      if (goesOn) this.running.push(a);
      await tick();
    }
  }

  /** One round-robin step of `a` with its adapter attached; null when it threw. */
  private async next(a: Active): Promise<IteratorResult<GenEvent> | null> {
    this.bank.activate(a.job.adapter);
    this.counts.steps++;
    try {
      return await (a.iter as AsyncGenerator<GenEvent>).next();
    } catch (e) {
      return this.fail(a, e);
    }
  }

  /** The batched path's turn: stop the generations whose client left, then one step for every running generation
   *  together: each decoding one feeds its last token, and the prompts still prefilling feed their next chunks while
   *  they fit STEP_PROMPT_TOKENS (the first always runs; they take turns), so a burst of prompts shares the steps'
   *  weight reads with the streams already running and never stalls them for a whole prompt. */
  private async batchedTurn(): Promise<void> {
    for (const a of this.running.filter((r) => r.gen && r.abort.signal.aborted)) this.emit(a, [(a.gen as Generation).abort()]);
    const chosen: Active[] = [];
    let budget = STEP_PROMPT_TOKENS;
    for (const p of this.running.filter((r) => r.gen?.phase === 'prefill')) {
      const n = (p.gen as Generation).nextChunk;
      if (budget < STEP_PROMPT_TOKENS && n > budget) break;
      budget -= n;
      chosen.push(p);
    }
    // the prompts chosen now go to the back of the line, so the ones left out run first next turn
    for (const p of chosen) this.running.push(...this.running.splice(this.running.indexOf(p), 1));
    chosen.push(...this.running.filter((r) => r.gen?.phase === 'decode' && !r.abort.signal.aborted));
    if (chosen.length === 0) return;
    this.counts.steps++;
    const gens = chosen.map((r) => r.gen as Generation);
    let logits: Float32Array[];
    const t0 = performance.now();
    try {
      logits = (gens[0].rows as NonNullable<Generation['rows']>).step(chosen.map((r, i) => gens[i].row(r.job.adapter ? r.job.adapter.layers : null)));
    } catch (e) {
      for (const r of chosen) this.drop(r, e);
      return;
    }
    const ms = performance.now() - t0;
    chosen.forEach((r, i) => {
      try {
        const next = gens[i].took(logits[i], ms);
        if (next) this.emit(r, gens[i].accept(next));
      } catch (e) {
        this.drop(r, e); // its sampler or text decoder failed: the other rows go on
      }
    });
    await settle();
  }

  /** Delivers a batched generation's events; one that ended leaves `running` and is counted. */
  private emit(a: Active, events: GenEvent[]): void {
    for (const ev of events) {
      this.deliver(a, () => a.job.onEvent(ev));
      if (ev.type !== 'done') continue;
      this.running.splice(this.running.indexOf(a), 1);
      if (ev.finishReason === 'abort') this.counts.aborted++;
      else this.counts.completed++;
    }
  }

  /** A batched generation that threw: it leaves `running` and its client gets the error. */
  private drop(a: Active, e: unknown): void {
    const i = this.running.indexOf(a);
    if (i >= 0) this.running.splice(i, 1);
    this.fail(a, e);
  }

  /** Delivers the step's event; true when the generation goes on. */
  private step(a: Active, r: IteratorResult<GenEvent> | null): boolean {
    if (r === null) return false;
    if (r.done) {
      this.fail(a, new ApiError(500, 'the generation ended without a final event', { code: 'internal_error' }));
      return false;
    }
    const ev = r.value;
    this.deliver(a, () => a.job.onEvent(ev));
    if (ev.type !== 'done') return true;
    if (ev.finishReason === 'abort') this.counts.aborted++;
    else this.counts.completed++;
    return false;
  }

  private fail(a: Active, e: unknown): null {
    this.counts.failed++;
    a.abort.abort();
    this.deliver(a, () => a.job.onError(e));
    return null;
  }

  /** Calls the job's consumer; one that throws is gone (e.g. a closed stream): its generation is stopped
   *  at the next step and it is not called again. */
  private deliver(a: Active, call: () => void): void {
    if (a.gone) return;
    try {
      call();
    } catch {
      a.gone = true;
      a.abort.abort();
    }
  }
}
