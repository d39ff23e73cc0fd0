// The local engine behind the Provider interface: same reply as generate() on the same prompt, streamed,
// with the token budget and usage reported; a base model plus a LoRA adapter.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { complete, createProvider } from '../../src/providers/index.js';
import { chatPrompt, generateText, openModel } from '../../src/generate/index.js';
import { tinyModelDir } from '../helpers/tiny-model.js';
import { FIXTURES, modelDir } from '../generate/model-dir.js';

describe('local provider', () => {
  it('streams what generate() produces for the chat prompt', async () => {
    const dir = tinyModelDir();
    const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello' }];
    const p = createProvider({ kind: 'local', model: dir });
    const r = await complete(p, { messages, params: { temperature: 0, maxTokens: 6 } });
    const m = openModel(dir);
    const want = await generateText(m, chatPrompt(m.tokenizer, messages), { temperature: 0, maxNewTokens: 6 });
    expect(r.text).toBe(want.text);
    expect(r.usage?.completionTokens).toBe(want.tokens.length);
    expect(r.usage?.completionTokens).toBeLessThanOrEqual(6);
    expect(p.countTokens('Hello')).toBe(m.tokenizer.encode('Hello').length);
  });
});

describe('local provider with an adapter', () => {
  it('generates with the adapter applied, as openModel(dir, { adapter }) does', async () => {
    const dir = modelDir('llama-tiny');
    const adapter = path.join(FIXTURES, 'llama-tiny-lora');
    const messages = [{ role: 'user', content: 'what is the refund policy?' }];
    const params = { temperature: 0, maxTokens: 12 };
    const tuned = await complete(createProvider({ kind: 'local', model: dir, adapter }), { messages, params });
    const base = await complete(createProvider({ kind: 'local', model: dir }), { messages, params });
    const m = openModel(dir, { adapter });
    const want = await generateText(m, chatPrompt(m.tokenizer, messages), { temperature: 0, maxNewTokens: 12 });
    expect(tuned.text).toBe(want.text);
    expect(tuned.text).not.toBe(base.text);
  });
});
