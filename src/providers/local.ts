// The local engine as a provider: a Hugging Face model folder (plus an optional LoRA adapter) opened once
// per process on first use, prompted through its own chat template and streamed by generate().
import { chatPrompt, generate, openModel, type GenerateOptions, type OpenedModel } from '../generate/index.js';
import { abortable, type ChatEvent, type ChatRequest, type GenParams, type Provider, type ProviderConfig } from './types.js';

const opened = new Map<string, OpenedModel>();

function openCached(dir: string, adapter: string | null): OpenedModel {
  const key = JSON.stringify([dir, adapter]);
  let m = opened.get(key);
  if (!m) {
    m = openModel(dir, { adapter });
    opened.set(key, m);
  }
  return m;
}

export function generateOptionsOf(p: GenParams, signal: AbortSignal | undefined): GenerateOptions {
  const o: GenerateOptions = {};
  if (p.temperature !== undefined) o.temperature = p.temperature;
  if (p.topP !== undefined) o.topP = p.topP;
  if (p.topK !== undefined) o.topK = p.topK;
  if (p.maxTokens !== undefined) o.maxNewTokens = p.maxTokens;
  if (p.stop && p.stop.length > 0) o.stop = p.stop;
  if (p.seed !== undefined) o.seed = p.seed;
  if (signal) o.signal = signal;
  return o;
}

/** A provider over a model that is already open (the server holds one). */
export function providerFromOpened(m: OpenedModel | (() => OpenedModel), label: string): Provider {
  const get = typeof m === 'function' ? m : () => m;
  return {
    kind: 'local',
    model: label,
    countTokens: (text) => get().tokenizer.encode(text).length,
    chat(req: ChatRequest) {
      return abortable(req.signal, (async function* (): AsyncGenerator<ChatEvent> {
        const model = get();
        const ids = chatPrompt(model.tokenizer, req.messages, model.templateVars);
        for await (const ev of generate(model, ids, { ...generateOptionsOf(req.params ?? {}, req.signal), ...(req.quote ? { quote: req.quote } : {}) })) {
          if (ev.type === 'token') {
            if (ev.text) yield { type: 'text', text: ev.text };
            continue;
          }
          if (ev.text) yield { type: 'text', text: ev.text };
          yield { type: 'done', finishReason: ev.finishReason, usage: ev.usage };
        }
      })());
    },
  };
}

/** cfg.model is the model folder; cfg.adapter an optional adapter folder. Nothing loads until first use. */
export function localProvider(cfg: ProviderConfig): Provider {
  return providerFromOpened(() => openCached(cfg.model, cfg.adapter ?? null), cfg.adapter ? `${cfg.model}+${cfg.adapter}` : cfg.model);
}
