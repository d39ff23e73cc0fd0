// One generation as a stepped state machine: prefill the prompt chunk by chunk, then one token per decode step,
// either alone (generate()) or as one row of a batched step beside other generations (the server's scheduler). Both
// ways run the same arithmetic: a model with a row decoder prefills and decodes through it even alone (the same
// prompt chunks, the same kernels, each row computed as it would be alone), other models through their own forward,
// and the same sampler, so a seeded request gives the same tokens alone or under load.
import { ShitateError } from '../errors.js';
import { KVCache, kvCacheFormat, rowDecoder, type DecodeRow, type KvCacheFormat, type LinearAdapter, type RowDecoder } from '../models/index.js';
import { noGrad } from '../tensor/index.js';
import { plan, type FinishReason, type GenDone, type GenEvent, type GenerateOptions, type GenerateTarget, type Plan } from './request.js';

/** Prompt tokens per prefill step for models with a row decoder: a long prompt then rides along with the other
 *  generations of a server one chunk per step, never holding them up for the whole prompt. */
export const PREFILL_CHUNK = 64;

export type Phase = 'prefill' | 'decode' | 'done';

export class Generation {
  readonly promptIds: readonly number[];
  /** every generated id, the end id that stopped it included */
  readonly tokens: number[] = [];
  /** the batched decoder this generation's decode steps run on; null: the model's own forward, one at a time */
  readonly rows: RowDecoder | null;
  private readonly target: GenerateTarget;
  private readonly plan: Plan;
  private readonly cache: KVCache;
  private readonly history: number[];
  private readonly chunk: number;
  private prefilled = 0;
  /** the last sampled token, fed at the next decode step */
  private pending = -1;
  private ended = false;
  private decodeSteps = 0;
  private readonly timing = { prefillMs: 0, decodeMs: 0, prefillTokensPerSec: 0, decodeTokensPerSec: 0 };

  /** Checks the request (throws ShitateError) and allocates its cache. */
  constructor(target: GenerateTarget, promptIds: readonly number[], opts: GenerateOptions = {}) {
    this.target = target;
    this.promptIds = promptIds;
    this.plan = plan(target, promptIds, opts);
    const { model } = target;
    const cfg = model.config;
    const capacity = promptIds.length + this.plan.maxNew;
    this.rows = rowDecoder(model);
    const format = kvCacheFormat(this.rows !== null);
    this.cache = model.createCache ? model.createCache(1, capacity, format) : new KVCache(cfg.numLayers, 1, capacity, cfg.numKvHeads, cfg.headDim, format);
    this.history = [...promptIds];
    // models without a row decoder prefill in one forward, as they always have
    this.chunk = this.rows ? PREFILL_CHUNK : Math.max(1, promptIds.length);
  }

  /** How this generation's cache holds keys and values. */
  get kvFormat(): KvCacheFormat {
    return this.cache.format;
  }

  get phase(): Phase {
    if (this.ended) return 'done';
    return this.prefilled < this.promptIds.length ? 'prefill' : 'decode';
  }

  /** Prompt tokens the next prefill() reads (0 once the prompt is in the cache). */
  get nextChunk(): number {
    return Math.min(this.chunk, this.promptIds.length - this.prefilled);
  }

  /** One forward over the next chunk of the prompt, on the adapters attached to the model now. Returns the logits
   *  of the prompt's last token after the last chunk, else null. */
  prefill(): Float32Array | null {
    this.expect('prefill');
    const t0 = performance.now();
    if (this.rows) {
      const logits = this.rows.step([this.row(this.rows.attached())])[0];
      return this.took(logits, performance.now() - t0);
    }
    const end = Math.min(this.promptIds.length, this.prefilled + this.chunk);
    const last = end === this.promptIds.length;
    const logits = this.forward(this.promptIds.slice(this.prefilled, end), last);
    this.prefilled = end;
    this.timing.prefillMs += performance.now() - t0;
    return logits;
  }

  /** This generation's row of a batched step, under the given adapter layers (null: the base model): the next
   *  chunk of the prompt while prefilling, the last sampled token while decoding. Hand the step's logits for it to
   *  took(). */
  row(adapters: readonly (LinearAdapter | null)[] | null): DecodeRow {
    if (this.phase === 'prefill') return { ids: this.promptIds.slice(this.prefilled, this.prefilled + this.nextChunk), cache: this.cache, adapters };
    this.expect('decode');
    return { ids: [this.pending], cache: this.cache, adapters };
  }

  /** Records a batched step that ran this generation's row() and took `ms`:
   *  while prefilling, the chunk is now in the cache and the logits come back after the prompt's last chunk (null
   *  before); while decoding, the step is counted and the logits come back. */
  took(logits: Float32Array, ms: number): Float32Array | null {
    if (this.phase === 'prefill') {
      this.prefilled += this.nextChunk;
      this.timing.prefillMs += ms;
      return this.prefilled === this.promptIds.length ? logits : null;
    }
    this.expect('decode');
    this.stepped(ms);
    return logits;
  }

  /** A decode step of this generation alone, on the adapters attached to the model now. */
  decode(): Float32Array {
    this.expect('decode');
    const t0 = performance.now();
    const logits = this.rows ? this.rows.step([this.row(this.rows.attached())])[0] : this.forward([this.pending], true);
    this.stepped(performance.now() - t0);
    if (!logits) throw new ShitateError('E_INTERNAL', 'forward returned no logits', 'this is a bug in shitate; please report it');
    return logits;
  }

  /** Counts a decode step that took `ms` (a batched step counts whole for each of its rows). */
  stepped(ms: number): void {
    this.timing.decodeMs += ms;
    this.decodeSteps++;
  }

  /** Samples the next token from the logits of the last prefill or decode step. Returns the events in order: a
   *  'token' event unless the token ends the reply, and a 'done' event when the generation ends here. */
  accept(logits: Float32Array): GenEvent[] {
    if (this.ended) throw new ShitateError('E_INTERNAL', 'generation: a token was sampled after the end', 'this is a bug in shitate; please report it');
    const t0 = performance.now();
    const { sampler, endIds, matcher, decoder, maxNew } = this.plan;
    const id = sampler(logits, this.history);
    this.history.push(id);
    this.tokens.push(id);
    this.pending = id;
    const events: GenEvent[] = [];
    if (endIds.has(id)) {
      this.timing.decodeMs += performance.now() - t0;
      return [this.finish('stop', this.finalText())];
    }
    const step = matcher.push(decoder ? decoder.push(id) : '');
    this.timing.decodeMs += performance.now() - t0;
    events.push({ type: 'token', id, text: step.text });
    if (step.stopped) events.push(this.finish('stop', ''));
    else if (this.tokens.length >= maxNew) events.push(this.finish('length', this.finalText()));
    return events;
  }

  /** Ends the generation for a client that went away: the 'done' event with what text is left. */
  abort(): GenDone {
    return this.finish('abort', this.tokens.length > 0 ? this.finalText() : '');
  }

  private finalText(): string {
    const { matcher, decoder } = this.plan;
    return matcher.push(decoder ? decoder.flush() : '').text + matcher.flush();
  }

  private finish(finishReason: FinishReason, text: string): GenDone {
    this.ended = true;
    const t = this.timing;
    t.prefillTokensPerSec = t.prefillMs > 0 ? (this.promptIds.length * 1000) / t.prefillMs : 0;
    t.decodeTokensPerSec = t.decodeMs > 0 ? (this.decodeSteps * 1000) / t.decodeMs : 0;
    return {
      type: 'done', finishReason, text, tokens: this.tokens,
      usage: { promptTokens: this.promptIds.length, completionTokens: this.tokens.length }, timing: { ...t },
    };
  }

  private forward(ids: readonly number[], wantLogits: boolean): Float32Array | null {
    const { model } = this.target;
    const out = noGrad(() => model.forward({ ids: Int32Array.from(ids), batch: 1, seqLen: ids.length, cache: this.cache, logits: wantLogits ? 'last' : 'none' }));
    if (wantLogits && !out.logits) throw new ShitateError('E_INTERNAL', 'forward returned no logits', 'this is a bug in shitate; please report it');
    return wantLogits && out.logits ? out.logits.data : null;
  }

  private expect(phase: Phase): void {
    if (this.phase !== phase) {
      throw new ShitateError('E_INTERNAL', `generation: expected the ${phase} phase, found ${this.phase}`, 'this is a bug in shitate; please report it');
    }
  }
}
