// Text generation as an async iterator: the prompt prefilled into a KV cache, then one token per forward, yielding
// to the event loop between tokens. Stops on end ids, stop strings, the token budget or an AbortSignal; streams text
// deltas that never split a character. The steps themselves live in session.ts, which the server also drives.
import { ShitateError } from '../errors.js';
import { Generation } from './session.js';
import type { FinishReason, GenDone, GenEvent, GenerateOptions, GenerateTarget, GenerationModel } from './request.js';

export {
  DEFAULT_MAX_NEW_TOKENS, resolveMaxNewTokens,
  type FinishReason, type GenDone, type GenEvent, type GenerateOptions, type GenerateTarget, type GenerationModel, type GenToken,
} from './request.js';

function targetOf(m: GenerationModel | GenerateTarget): GenerateTarget {
  return 'forward' in m ? { model: m } : m;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Streams the continuation of promptIds. Events: one 'token' per generated id (the end id excepted),
 *  then one 'done'. */
export async function* generate(target: GenerationModel | GenerateTarget, promptIds: readonly number[],
  opts: GenerateOptions = {}): AsyncGenerator<GenEvent> {
  const g = new Generation(targetOf(target), promptIds, opts);
  if (opts.signal?.aborted) {
    yield g.abort();
    return;
  }
  let logits: Float32Array | null = null;
  while (!logits) logits = g.prefill();
  for (;;) {
    for (const ev of g.accept(logits)) yield ev;
    if (g.phase === 'done') return;
    await tick();
    if (opts.signal?.aborted) {
      yield g.abort();
      return;
    }
    logits = g.decode();
  }
}

export interface GeneratedText {
  text: string;
  tokens: number[];
  finishReason: FinishReason;
  usage: GenDone['usage'];
  timing: GenDone['timing'];
}

/** generate() collected: the whole text and the final event's facts. */
export async function generateText(target: GenerationModel | GenerateTarget, promptIds: readonly number[],
  opts: GenerateOptions = {}): Promise<GeneratedText> {
  let text = '';
  for await (const ev of generate(target, promptIds, opts)) {
    text += ev.text;
    if (ev.type === 'done') return { text, tokens: ev.tokens, finishReason: ev.finishReason, usage: ev.usage, timing: ev.timing };
  }
  throw new ShitateError('E_INTERNAL', 'generate ended without a final event', 'this is a bug in shitate; please report it');
}
