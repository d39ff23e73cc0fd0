// Anthropic's Messages API over plain fetch: POST /v1/messages with stream: true; the reply arrives as
// content_block_delta events, the stop reason and output usage in message_delta.
import { ShitateError } from '../errors.js';
import { postJson, type Endpoint } from './http.js';
import { baseUrl, resolveKey } from './keys.js';
import { transportOf } from './openai.js';
import { parseData, sseEvents } from './sse.js';
import { splitTurns } from './turns.js';
import { abortable, estimateTokens, type ChatEvent, type ChatFinish, type ChatMessage, type GenParams, type Provider, type ProviderConfig } from './types.js';

export const ANTHROPIC_VERSION = '2023-06-01';
/** max_tokens is required by the API; this is used when the profile sets none */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 1024;

export function anthropicBody(model: string, messages: readonly ChatMessage[], p: GenParams, stream: boolean): Record<string, unknown> {
  const { system, turns } = splitTurns(messages);
  const body: Record<string, unknown> = { model, max_tokens: p.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS };
  if (system) body.system = system;
  body.messages = turns;
  if (stream) body.stream = true;
  if (p.temperature !== undefined) body.temperature = p.temperature;
  if (p.topP !== undefined) body.top_p = p.topP;
  if (p.topK !== undefined) body.top_k = p.topK;
  if (p.stop && p.stop.length > 0) body.stop_sequences = p.stop;
  return body;
}

export function anthropicFinish(reason: unknown): ChatFinish {
  if (reason === 'end_turn' || reason === 'stop_sequence') return 'stop';
  return reason === 'max_tokens' ? 'length' : 'other';
}

interface AnthropicEvent {
  type?: string;
  message?: { usage?: { input_tokens?: number; output_tokens?: number } };
  delta?: { type?: string; text?: string; stop_reason?: string | null };
  usage?: { output_tokens?: number };
  error?: { type?: string; message?: string };
}

/** Folds the stream's events into text deltas and the final facts. */
export class AnthropicStream {
  inputTokens = 0;
  outputTokens = 0;
  stopReason: string | null = null;

  constructor(private readonly ep: Endpoint) {}

  /** the text this event adds ('' for bookkeeping events) */
  push(e: AnthropicEvent): string {
    switch (e.type) {
      case 'message_start':
        this.inputTokens = e.message?.usage?.input_tokens ?? 0;
        this.outputTokens = e.message?.usage?.output_tokens ?? 0;
        return '';
      case 'content_block_delta':
        return e.delta?.type === 'text_delta' ? (e.delta.text ?? '') : '';
      case 'message_delta':
        this.stopReason = e.delta?.stop_reason ?? this.stopReason;
        this.outputTokens = e.usage?.output_tokens ?? this.outputTokens;
        return '';
      case 'error':
        throw new ShitateError('E_PROVIDER_STREAM', `${this.ep.who} reported ${e.error?.type ?? 'an error'} mid-reply: ${e.error?.message ?? ''}`,
          e.error?.type === 'overloaded_error' ? 'the API is overloaded; try again in a moment' : 'try again');
      default:
        return ''; // ping, content_block_start/stop, message_stop
    }
  }

  done(aborted: boolean): ChatEvent {
    return {
      type: 'done', finishReason: aborted ? 'abort' : anthropicFinish(this.stopReason),
      usage: { promptTokens: this.inputTokens, completionTokens: this.outputTokens },
      ...(this.stopReason && anthropicFinish(this.stopReason) === 'other' ? { detail: this.stopReason } : {}),
    };
  }
}

export function anthropicEndpoint(cfg: ProviderConfig): Endpoint {
  const { key, hint } = resolveKey(cfg);
  return {
    who: 'the Anthropic API',
    url: `${baseUrl(cfg)}/v1/messages`,
    headers: { 'x-api-key': key ?? '', 'anthropic-version': ANTHROPIC_VERSION },
    keyHint: hint,
  };
}

export function anthropicProvider(cfg: ProviderConfig): Provider {
  const t = transportOf(cfg);
  return {
    kind: 'anthropic',
    model: cfg.model,
    countTokens: estimateTokens,
    chat(req) {
      return abortable(req.signal, (async function* (): AsyncGenerator<ChatEvent> {
        const ep = anthropicEndpoint(cfg);
        const opened = await postJson(ep, anthropicBody(cfg.model, req.messages, req.params ?? {}, true), t, req.signal);
        const s = new AnthropicStream(ep);
        for await (const ev of sseEvents(ep, opened, t.timeoutMs, req.signal)) {
          const text = s.push(parseData(ep, ev.data) as AnthropicEvent);
          if (text) yield { type: 'text', text };
        }
        yield s.done(false);
      })());
    },
  };
}
