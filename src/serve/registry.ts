// The served models by name: what a request's `model` field selects and how to run it. The base model and
// each loaded adapter are entries; other kinds (named profiles with their own system prompt or sampling
// defaults, or chats answered by another service) plug in with `prepareMessages`, `defaults`, `chat` and
// `afterReply`.
import { ShitateError } from '../errors.js';
import type { ChatMessage } from '../tokenizer/index.js';
import type { AdapterSlot } from './adapters.js';
import type { SamplingParams } from './params.js';

/** What a request says about itself beyond its messages. */
export interface RequestContext {
  /** OpenAI's `user` field: the end user the request is for (e.g. whose memory to use) */
  user?: string;
  /** the request's max_tokens, when it sets one (room a prompt planner keeps for the reply) */
  maxTokens?: number;
  /** the request's chat_template_kwargs (a prompt planner counts the prompt as it will be rendered) */
  templateVars?: Record<string, unknown>;
}

/** Messages a served model rewrote, with what the response tells the client about the rewrite. */
export interface PreparedChat {
  messages: ChatMessage[];
  /** sent as the `shitate` field of the completion (and of a stream's first chunk) */
  info?: Record<string, unknown>;
  /** extra response headers */
  headers?: Record<string, string>;
  /** texts the reply may quote and the bonus for quoting them (source-anchored decoding; local engine) */
  quote?: { texts: string[]; strength: number };
}

/** A reply produced elsewhere: text pieces, then one final event. 'other' is a provider-specific end
 *  (e.g. a safety block). */
export type ReplyEvent =
  | { type: 'text'; text: string }
  | { type: 'done'; finishReason: 'stop' | 'length' | 'abort' | 'other'; usage: { promptTokens: number; completionTokens: number } };

export interface ChatTurn extends RequestContext {
  /** the prepared messages */
  messages: ChatMessage[];
  /** the request's sampling settings over the model's defaults */
  sampling: SamplingParams;
  signal: AbortSignal;
}

export interface ServedModel {
  /** the name clients pass as `model` */
  readonly id: string;
  /** 'base' and 'adapter' here; other modules add their own kinds */
  readonly kind: string;
  /** unix seconds, as /v1/models reports it */
  readonly created: number;
  readonly ownedBy: string;
  /** the adapter attached while this model generates; null runs the bare base */
  readonly adapter: AdapterSlot | null;
  /** rewrites a chat's messages before they are rendered (e.g. prepends a profile's system prompt); a model
   *  with this (or `chat`) answers chats only, since raw completions would skip the rewrite */
  prepareMessages?(messages: ChatMessage[], signal: AbortSignal, ctx: RequestContext): ChatMessage[] | PreparedChat | Promise<ChatMessage[] | PreparedChat>;
  /** sampling settings used where the request sets none */
  readonly defaults?: SamplingParams;
  /** answers chats somewhere else (a hosted API) instead of on the local model; errors it throws should be
   *  ApiErrors (e.g. 502 for a failing upstream) */
  chat?(turn: ChatTurn): AsyncIterable<ReplyEvent>;
  /** runs after a reply completed (not after an error or a disconnect), with the request's own messages */
  afterReply?(messages: ChatMessage[], ctx: RequestContext): void | Promise<void>;
}

/** Model ids: letters, digits and . _ : - (no slash, so an id is one URL path segment). */
export const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export class ModelRegistry {
  private readonly models = new Map<string, ServedModel>();

  /** Throws unless `id` is well formed and free. */
  checkNew(id: string): void {
    if (!MODEL_ID.test(id)) {
      throw new ShitateError('E_CONFIG', `model id ${JSON.stringify(id)}: expected 1-128 letters, digits or . _ : - (starting with a letter or digit)`,
        'pick a simple name, e.g. support-v2 (the base model is named by --base-name, else after its folder)');
    }
    const taken = this.models.get(id);
    if (taken) throw new ShitateError('E_CONFIG', `model id "${id}" is already served (as ${taken.kind})`, 'remove it first, or pick another name');
  }

  add(m: ServedModel): void {
    this.checkNew(m.id);
    this.models.set(m.id, m);
  }

  remove(id: string): ServedModel | undefined {
    const m = this.models.get(id);
    this.models.delete(id);
    return m;
  }

  get(id: string): ServedModel | undefined {
    return this.models.get(id);
  }

  list(): ServedModel[] {
    return [...this.models.values()];
  }
}
