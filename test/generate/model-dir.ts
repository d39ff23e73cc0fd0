// Test model folders with text: a fixture's weights and config plus a tiny byte-level BPE tokenizer trained
// here (vocabulary small enough for the fixture's embedding) and a ChatML tokenizer_config.json.
import fs from 'node:fs';
import path from 'node:path';
import { trainBpe } from '../helpers/bpe.js';
import { tempDir } from '../io/helpers.js';

export const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures');

export const CHATML = String.raw`{{ bos_token }}{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`;

/** Every character the tests encode must occur here: the byte alphabet is only what this text uses. */
export const CORPUS = [
  'Our return policy allows refunds within 30 days. Please keep the receipt. Hello world, STOP now!',
  '弊社の返品ポリシーについて教えてください。返品は30日以内に受け付けております。こんにちは',
  'system user assistant: what is the refund policy? hi there',
].join('\n');

let trained: string | null = null;

/** tokenizer.json of the trained tokenizer (trained once per test file). */
export function trainedTokenizerFile(): string {
  if (trained) return trained;
  const work = tempDir('shitate-gen-tok-');
  trainBpe(work, `${CORPUS}\n`.repeat(20), { specials: ['<s>', '</s>', '<|im_start|>', '<|im_end|>'], bos: '<s>' });
  const file = path.join(work, 'tokenizer.json');
  trained = file;
  return file;
}

export interface ModelDirOptions {
  /** chat template in tokenizer_config.json; null = none (the fallback format applies) */
  chatTemplate?: string | null;
  /** extra fields for generation_config.json */
  generation?: Record<string, unknown>;
}

/**
 * A model folder in a temp dir: the fixture's weights, its config.json with bos/eos pointed at the trained
 * tokenizer's <s> and <|im_end|>, the tokenizer, tokenizer_config.json and generation_config.json.
 */
export function modelDir(fixture = 'llama-tiny', opts: ModelDirOptions = {}): string {
  const src = path.join(FIXTURES, fixture);
  const dir = tempDir('shitate-gen-model-');
  fs.copyFileSync(path.join(src, 'model.safetensors'), path.join(dir, 'model.safetensors'));
  const tokFile = trainedTokenizerFile();
  fs.copyFileSync(tokFile, path.join(dir, 'tokenizer.json'));
  const tj = JSON.parse(fs.readFileSync(tokFile, 'utf8')) as { added_tokens: { id: number; content: string }[] };
  const idOf = (s: string): number => {
    const hit = tj.added_tokens.find((a) => a.content === s);
    if (!hit) throw new Error(`no ${s} in the trained tokenizer`);
    return hit.id;
  };
  const config = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  if (idOf('<|im_end|>') >= (config.vocab_size as number)) throw new Error('trained vocabulary exceeds the fixture\'s vocab_size');
  config.bos_token_id = idOf('<s>');
  config.eos_token_id = idOf('<|im_end|>');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  fs.writeFileSync(path.join(dir, 'generation_config.json'),
    JSON.stringify({ bos_token_id: idOf('<s>'), eos_token_id: idOf('<|im_end|>'), ...opts.generation }));
  const tc: Record<string, unknown> = { bos_token: '<s>', eos_token: '<|im_end|>', pad_token: '</s>' };
  const template = opts.chatTemplate === undefined ? CHATML : opts.chatTemplate;
  if (template !== null) tc.chat_template = template;
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tc));
  return dir;
}
