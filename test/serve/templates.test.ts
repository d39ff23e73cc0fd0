// Chat template variables and reasoning over the real server with the official openai client, on a tiny model
// around the real Qwen3 tokenizer: chat_template_kwargs reach the template (over the server's default and an
// adapter's training ones), an earlier answer's reasoning_content reaches it too, and replies come back split
// into reasoning_content and content as vLLM's reasoning parser splits them, streamed or not.
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatPrompt, openModel, type OpenedModel } from '../../src/generate/index.js';
import { DEFAULT_LORA, attachLora, saveAdapter } from '../../src/lora/index.js';
import { createHandler, Engine, listen, type Handler, type RunningServer } from '../../src/serve/index.js';
import { modelAround } from '../helpers/real-tokenizer-model.js';
import { tokenizerDir } from '../helpers/templates.js';
import { tempDir } from '../helpers/tiny-model.js';
import { post } from './fixtures.js';

type Body = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming & { chat_template_kwargs?: Record<string, unknown> };
type Message = OpenAI.Chat.ChatCompletionMessage & { reasoning_content?: string | null };

let m: OpenedModel;
let engine: Engine;
let handler: Handler;
let server: RunningServer;
let client: OpenAI;
const ask = [{ role: 'user' as const, content: 'Hi' }];
const OFF = { enable_thinking: false };

beforeAll(async () => {
  const dir = modelAround(tokenizerDir('qwen3'), '<|im_end|>');
  const adapter = path.join(tempDir(), 'thinking-off');
  const lora = attachLora(openModel(dir).model, { ...DEFAULT_LORA, r: 2, alpha: 4, dropout: 0 }, 1);
  saveAdapter(adapter, lora, dir, { 'shitate.json': JSON.stringify({ chat_template_kwargs: OFF }) });
  m = openModel(dir);
  engine = new Engine(m, { baseId: 'qwen', adapters: [{ name: 'tuned', dir: adapter }] });
  handler = createHandler(engine);
  server = await listen(handler, { port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none', maxRetries: 0 });
}, 60_000);
afterAll(async () => {
  await engine.close();
  await server.close();
});

async function chat(body: Partial<Body>): Promise<{ message: Message; promptTokens: number }> {
  const r = await client.chat.completions.create({ model: 'qwen', messages: ask, max_tokens: 4, temperature: 0, ...body } as Body);
  return { message: r.choices[0].message as Message, promptTokens: r.usage!.prompt_tokens };
}

describe('chat template variables and reasoning over HTTP', () => {
  it('chat_template_kwargs reach the template; the reply is reasoning while thinking is on, the answer when it is off', async () => {
    const on = await chat({});
    expect(on.promptTokens).toBe(chatPrompt(m.tokenizer, ask).length);
    expect(on.message.content).toBeNull(); // no </think> yet: all of it is reasoning, as vLLM reports it
    expect(on.message.reasoning_content?.length).toBeGreaterThan(0);
    const off = await chat({ chat_template_kwargs: OFF });
    expect(off.promptTokens).toBe(chatPrompt(m.tokenizer, ask, OFF).length);
    expect(off.promptTokens).toBe(on.promptTokens + 4);
    expect(off.message.reasoning_content).toBeNull();
    expect(off.message.content?.length).toBeGreaterThan(0);
  });

  it('an adapter trained with thinking off renders its prompts that way unless the request says otherwise', async () => {
    const tuned = await chat({ model: 'tuned' });
    expect(tuned.promptTokens).toBe(chatPrompt(m.tokenizer, ask, OFF).length);
    const overridden = await chat({ model: 'tuned', chat_template_kwargs: { enable_thinking: true } });
    expect(overridden.promptTokens).toBe(chatPrompt(m.tokenizer, ask).length);
  });

  it('streams the same split', async () => {
    const whole = await chat({});
    const stream = await client.chat.completions.create({ model: 'qwen', messages: ask, max_tokens: 4, temperature: 0, stream: true });
    let reasoning = '';
    let content = '';
    for await (const chunk of stream) {
      const d = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined;
      reasoning += d?.reasoning_content ?? '';
      content += d?.content ?? '';
    }
    expect(reasoning).toBe(whole.message.reasoning_content);
    expect(content).toBe('');
  });

  it('passes an earlier answer\'s reasoning_content to the template, and refuses kwargs that are not an object', async () => {
    const history = [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello.', reasoning_content: 'greet back' }];
    const r = (await (await post(handler, '/v1/chat/completions', { model: 'qwen', messages: history, max_tokens: 1 })).json()) as { usage: { prompt_tokens: number } };
    expect(r.usage.prompt_tokens).toBe(chatPrompt(m.tokenizer, history).length);
    expect(chatPrompt(m.tokenizer, history).length).toBeGreaterThan(chatPrompt(m.tokenizer, history.map(({ role, content }) => ({ role, content }))).length);
    const bad = await post(handler, '/v1/chat/completions', { model: 'qwen', messages: ask, chat_template_kwargs: ['x'] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('chat_template_kwargs');
  });
});
