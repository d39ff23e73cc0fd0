// The real Gemma-3 tokenizer knows 262145 ids; Gemma-3-1b's config says vocab_size 262144 (the last id is
// an image placeholder). As in transformers, such a model opens, generates and trains; only an id beyond
// the embedding that actually occurs (in data or a prompt) is refused, with file and line.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chatPrompt, generateText, openModel, type OpenedModel } from '../../src/generate/index.js';
import { readRecords, tokenizeRecords } from '../../src/train/dataset.js';
import { expectShitateError } from '../io/helpers.js';
import { modelAround } from '../helpers/real-tokenizer-model.js';
import { tokenizerDir } from '../helpers/templates.js';
import { tempDir, writeJsonl } from '../helpers/tiny-model.js';

let dir: string;
let opened: OpenedModel;

beforeAll(() => {
  dir = modelAround(tokenizerDir('gemma3'), '<end_of_turn>', { vocabSize: 262_144 });
  opened = openModel(dir);
}, 60_000);

describe('a tokenizer one id larger than the embedding (Gemma-3-1b)', () => {
  it('opens and generates from a chat prompt', async () => {
    expect(opened.tokenizer.vocabSize).toBe(262_145);
    expect(opened.config.vocabSize).toBe(262_144);
    const ids = chatPrompt(opened.tokenizer, [{ role: 'user', content: '営業時間は?' }]);
    const g = await generateText(opened, ids, { maxNewTokens: 3, temperature: 0 });
    expect(g.tokens.every((id) => id < 262_144)).toBe(true);
  });

  it('refuses a prompt that holds the id beyond the embedding, naming the token', async () => {
    const ids = chatPrompt(opened.tokenizer, [{ role: 'user', content: 'look: <image_soft_token>' }]);
    expect(ids).toContain(262_144);
    await expect(generateText(opened, ids, { maxNewTokens: 2 })).rejects.toThrow(/the prompt: .*found 262144 \("<image_soft_token>"\)/);
  });

  it('trains on data without it and refuses data with it, with file and line', () => {
    const work = tempDir();
    const ok = writeJsonl(path.join(work, 'ok.jsonl'), [{ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello.' }] }]);
    const d = tokenizeRecords(readRecords(ok), opened.tokenizer, opened.endIds, 64, { embedSize: 262_144 });
    expect(d.examples).toHaveLength(1);
    const bad = writeJsonl(path.join(work, 'bad.jsonl'), [
      { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello.' }] },
      { messages: [{ role: 'user', content: 'Hi <image_soft_token>' }, { role: 'assistant', content: 'Hello.' }] },
    ]);
    expectShitateError(() => tokenizeRecords(readRecords(bad), opened.tokenizer, opened.endIds, 64, { embedSize: 262_144 }),
      'E_TOKEN_ID', `${bad}:2`, '<image_soft_token>');
  });

  it('still refuses a tokenizer whose own vocabulary is larger than the embedding (another model)', () => {
    const small = modelAround(tokenizerDir('llama2'), '</s>', { vocabSize: 1000 });
    expectShitateError(() => openModel(small), 'E_TOKENIZER', 'vocab_size of 1000');
    fs.rmSync(small, { recursive: true, force: true });
  });
});
