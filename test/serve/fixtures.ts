// Test (and bench) fixtures for the server: a tiny model whose sampling varies with the seed, LoRA adapters
// that change its outputs, and an in-process engine + handler over them.
import path from 'node:path';
import { chatPrompt, generateText, openModel, type GenerateOptions } from '../../src/generate/index.js';
import { DEFAULT_LORA, attachLora, loadAdapter, saveAdapter } from '../../src/lora/index.js';
import type { ChatMessage } from '../../src/tokenizer/index.js';
import { createHandler, Engine, type EngineOptions, type Handler, type ServeOptions } from '../../src/serve/index.js';
import { tempDir, tinyModelDir } from '../helpers/tiny-model.js';

/** small embeddings: logits stay soft, so different seeds sample different texts */
export const serveModelDir = (): string => tinyModelDir({ embedStd: 0.05 });

const adapters = new Map<string, string>();

/** A PEFT adapter folder for the model with B ~ U(-scale, scale) (non-zero, so it changes the outputs). */
export function makeAdapter(modelDir: string, seed: number, scale = 0.5): string {
  const key = `${modelDir}:${seed}:${scale}`;
  const hit = adapters.get(key);
  if (hit) return hit;
  const { model } = openModel(modelDir);
  const set = attachLora(model, { ...DEFAULT_LORA, r: 4, alpha: 8, dropout: 0 }, seed);
  let s = (seed * 2654435761) >>> 0;
  for (const layer of set.layers.values()) {
    const b = layer.B.data;
    for (let i = 0; i < b.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      b[i] = ((s / 2 ** 32) * 2 - 1) * scale;
    }
  }
  const dir = path.join(tempDir('shitate-serve-adapter-'), `adapter-${seed}`);
  saveAdapter(dir, set, modelDir);
  adapters.set(key, dir);
  return dir;
}

export interface Served {
  engine: Engine;
  handler: Handler;
  logs: string[];
  modelDir: string;
}

/** An engine over the tiny model with adapters "alpha" and "beta", and its handler (logs collected). */
export function serveTiny(opts: ServeOptions = {}, engineOpts: EngineOptions = {}): Served {
  const modelDir = serveModelDir();
  const engine = new Engine(openModel(modelDir), {
    baseId: 'tiny',
    adapters: [{ name: 'alpha', dir: makeAdapter(modelDir, 1) }, { name: 'beta', dir: makeAdapter(modelDir, 2) }],
    ...engineOpts,
  });
  const logs: string[] = [];
  const handler = createHandler(engine, { log: (l) => logs.push(l), ...opts });
  return { engine, handler, logs, modelDir };
}

/** The text the library itself generates for a chat (no server involved), with an adapter attached unfused. */
export async function directChat(modelDir: string, adapterDir: string | null, messages: ChatMessage[], opts: GenerateOptions): Promise<string> {
  const m = openModel(modelDir);
  const set = adapterDir ? loadAdapter(adapterDir, m.model) : null;
  try {
    return (await generateText(m, chatPrompt(m.tokenizer, messages), opts)).text;
  } finally {
    set?.detach();
  }
}

export function post(handler: Handler, url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return handler(new Request(`http://local${url}`, {
    method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers }, ...(signal ? { signal } : {}),
  }));
}

export type Json = Record<string, unknown>;

/** Every `data:` payload of an SSE body, parsed; '[DONE]' kept as the string. */
export async function readSse(res: Response): Promise<(Json | '[DONE]')[]> {
  const text = await res.text();
  return text.split('\n\n').filter((b) => b.trim() !== '').map((block) => {
    if (!block.startsWith('data: ')) throw new Error(`expected an SSE data line, found ${JSON.stringify(block.slice(0, 40))}`);
    const data = block.slice('data: '.length);
    return data === '[DONE]' ? '[DONE]' : (JSON.parse(data) as Json);
  });
}
