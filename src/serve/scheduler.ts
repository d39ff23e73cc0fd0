// Runs every generation of the server on the one model, one forward step at a time.
//
// Policy: at most `maxConcurrent` generations are running; they take turns round-robin, one step each (the
// prefill, then one token per step), and the adapter of the generation being stepped is activated just
// before its step. More requests wait in a FIFO queue of at most `maxQueue`; beyond that the server answers
// 429 at once. Why this shape: the model runs on the main thread, so a step is the unit of work that blocks
// the event loop; a macrotask turn after every step lets health checks, new requests and disconnects be
// handled between any two steps; round-robin gives each running request the same share of steps, so short
// requests are not stuck behind long ones; and only this loop ever runs a forward, so the adapter attached
// during a step is always the one its request asked for. Each generation owns its KV cache and sampler, so
// interleaving does not change any request's tokens (a seeded request gives the same text alone or under load).
// The longest pause other clients see is one step: a prefill over the longest prompt the context allows.
import { generate, type GenEvent, type GenerateOptions, type GenerateTarget } from '../generate/index.js';
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
  iter: AsyncGenerator<GenEvent>;
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
    while (this.running.length < this.limits.maxConcurrent && this.waiting.length > 0) {
      const job = this.waiting.shift() as Job;
      const abort = new AbortController();
      if (job.signal.aborted) abort.abort();
      else job.signal.addEventListener('abort', () => abort.abort(), { once: true });
      const iter = generate(this.target, job.promptIds, { ...job.options, signal: abort.signal });
      this.running.push({ job, iter, abort, gone: false });
    }
  }

  private async run(): Promise<void> {
    await tick(); // never step inside submit(): requests arriving in the same turn start together
    for (;;) {
      this.admit();
      const a = this.running.shift();
      if (!a) return;
      this.stepping = a;
      const goesOn = this.step(a, await this.next(a));
      this.stepping = null;
      if (goesOn) this.running.push(a);
      await tick();
    }
  }

  /** One forward step of `a` with its adapter attached; null when it threw. */
  private async next(a: Active): Promise<IteratorResult<GenEvent> | null> {
    this.bank.activate(a.job.adapter);
    this.counts.steps++;
    try {
      return await a.iter.next();
    } catch (e) {
      return this.fail(a, e);
    }
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
