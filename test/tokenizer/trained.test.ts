// A tiny byte-level BPE tokenizer trained here with the `tokenizers` Rust binding, saved as tokenizer.json
// with hand-written tokenizer_config.json files: loading, round trips, chat templates (model, named, file,
// fallback), streaming, and refusals of broken tokenizer folders.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import rust from 'tokenizers';
import { createStreamDecoder, loadTokenizer, strftimeNow, type Tokenizer } from '../../src/tokenizer/index.js';
import { expectShitateError, tempDir } from '../io/helpers.js';
import { everyByte, trainBpe } from '../helpers/bpe.js';

const CHATML = String.raw`{{ bos_token }}{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`;

const CORPUS = [
  'Our return policy allows refunds within 30 days. Please keep the receipt.',
  '弊社の返品ポリシーについて教えてください。返品は30日以内に受け付けております。',
  'function refund(order) {\n\treturn order.total;\n}',
].join('\n');

let base: string; // tokenizer.json of the trained tokenizer
let tok: Tokenizer;

function folder(config: Record<string, unknown> | null, extra: Record<string, string> = {}): string {
  const dir = tempDir('shitate-tok-');
  fs.copyFileSync(base, path.join(dir, 'tokenizer.json'));
  if (config) fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  for (const [name, text] of Object.entries(extra)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

beforeAll(() => {
  const work = tempDir('shitate-train-');
  trainBpe(work, `${CORPUS.repeat(20)}\n${everyByte()}\n`, { specials: ['<s>', '</s>', '<|im_start|>', '<|im_end|>'], bos: '<s>' });
  base = path.join(work, 'tokenizer.json');
  tok = loadTokenizer(folder({ bos_token: '<s>', eos_token: '<|im_end|>', pad_token: '</s>', chat_template: CHATML }));
});

describe('a trained byte-level BPE tokenizer', () => {
  it('exposes its special tokens', () => {
    expect(tok.bosTokenId).toBe(tok.tokenToId('<s>'));
    expect(tok.eosTokenIds).toEqual([tok.tokenToId('<|im_end|>')]);
    expect(tok.padTokenId).toBe(tok.tokenToId('</s>'));
    for (const s of ['<s>', '</s>', '<|im_start|>', '<|im_end|>']) expect(tok.specialIds.has(tok.tokenToId(s) ?? -1)).toBe(true);
    expect(tok.vocabSize).toBe((tok.tokenToId('<|im_end|>') ?? 0) + 1);
  });

  it('adds bos through its post-processor unless told not to', () => {
    const ids = tok.encode('返品');
    expect(ids[0]).toBe(tok.bosTokenId);
    expect(tok.encode('返品', { addSpecialTokens: false })).toEqual(ids.slice(1));
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('返品');
  });

  it('round-trips the corpus, every byte, and arbitrary Unicode', () => {
    for (const s of [CORPUS, everyByte(), '未知の漢字：鬱🦩 and tabs\t\tend']) {
      expect(tok.decode(tok.encode(s, { addSpecialTokens: false }))).toBe(s);
    }
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 32 }), (s) => {
      expect(tok.decode(tok.encode(s), { skipSpecialTokens: true })).toBe(s);
    }), { numRuns: 150 });
  });

  it('streams unseen multi-byte text back byte-exactly', () => {
    const text = '返品は鬱陶しい🦩🦩 ok';
    const ids = tok.encode(text, { addSpecialTokens: false });
    const d = createStreamDecoder(tok);
    const parts = ids.map((id) => d.push(id));
    parts.push(d.flush());
    for (const p of parts) expect(p).not.toContain('\uFFFD');
    expect(parts.join('')).toBe(text);
  });
});

describe('streaming with a SentencePiece-style (Metaspace) decoder', () => {
  it('keeps the spaces a token-by-token decode would drop', () => {
    const dir = tempDir('shitate-tok-');
    fs.writeFileSync(path.join(dir, 'c.txt'), 'hello world return policy refunds within days\n'.repeat(20));
    const t = new rust.Tokenizer(rust.BPE.empty());
    t.setPreTokenizer(rust.metaspacePreTokenizer('\u2581', 'first'));
    t.setDecoder(rust.metaspaceDecoder('\u2581', 'first'));
    t.train([path.join(dir, 'c.txt')]);
    t.save(path.join(dir, 'tokenizer.json'), false);
    const mt = loadTokenizer(dir);
    const text = 'hello world refunds within days';
    const ids = mt.encode(text);
    // the decoder strips the leading space of a sequence's first token, so lone decodes lose every space
    expect(ids.map((id) => mt.decode([id])).join('')).not.toBe(text);
    const d = createStreamDecoder(mt);
    const parts = ids.map((id) => d.push(id));
    parts.push(d.flush());
    expect(parts.join('')).toBe(text);
  });
});

describe('chat templates', () => {
  const chat = [
    { role: 'system', content: 'S' },
    { role: 'user', content: 'こんにちは' },
    { role: 'assistant', content: 'A' },
  ];

  it('renders the model template with bos_token, and encodes it with a single bos', () => {
    expect(tok.templateSource).toBe('model');
    expect(tok.chatTemplate).toBe(CHATML);
    const text = tok.renderChat(chat);
    expect(text).toBe('<s><|im_start|>system\nS<|im_end|>\n<|im_start|>user\nこんにちは<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n');
    expect(tok.renderChat(chat.slice(0, 2), { addGenerationPrompt: true }).endsWith('こんにちは<|im_end|>\n<|im_start|>assistant\n')).toBe(true);
    const ids = tok.encodeChat(chat);
    expect(ids.filter((id) => id === tok.bosTokenId)).toHaveLength(1);
    expect(ids).toEqual([tok.bosTokenId, ...tok.encode(text.slice('<s>'.length), { addSpecialTokens: false })]);
  });

  it('picks "default" from a list of named templates, or the name asked for', () => {
    const config = { bos_token: '<s>', eos_token: '</s>', chat_template: [{ name: 'tool_use', template: 'TOOLS' }, { name: 'default', template: 'PLAIN' }] };
    const dir = folder(config);
    expect(loadTokenizer(dir).renderChat(chat)).toBe('PLAIN');
    expect(loadTokenizer(dir, { chatTemplateName: 'tool_use' }).renderChat(chat)).toBe('TOOLS');
    expectShitateError(() => loadTokenizer(dir, { chatTemplateName: 'rag' }), 'E_CHAT_TEMPLATE', '"rag"', '"tool_use", "default"');
  });

  it('prefers chat_template.jinja over the config entry, as transformers does', () => {
    const dir = folder({ bos_token: '<s>', chat_template: 'FROM CONFIG' }, { 'chat_template.jinja': '{{ messages | length }} turns\n' });
    const t = loadTokenizer(dir);
    expect(t.renderChat(chat)).toBe('3 turns'); // a single trailing newline is dropped, as Jinja does
  });

  it('raise_exception in a template becomes a ShitateError with the template\'s message', () => {
    const strict = "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversation roles must start with user') }}{% endif %}ok";
    const t = loadTokenizer(folder({ chat_template: strict }));
    expect(t.renderChat(chat.slice(1))).toBe('ok');
    const e = expectShitateError(() => t.renderChat(chat), 'E_CHAT_TEMPLATE', 'Conversation roles must start with user');
    expect(e.message).not.toContain('[object');
  });

  it('strftime_now formats like Python in the C locale', () => {
    expect(strftimeNow('%d %b %Y %H:%M %A %j %%', new Date(2024, 6, 26, 9, 5))).toBe('26 Jul 2024 09:05 Friday 208 %');
    const t = loadTokenizer(folder({ chat_template: "{{ strftime_now('%Y') }}|{{ tools is none }}|{{ range(3) | length }}" }));
    expect(t.renderChat([])).toBe(`${new Date().getFullYear()}|true|3`);
  });

  it('falls back to the documented plain format when the model has no template, and says so', () => {
    const t = loadTokenizer(folder({ bos_token: '<s>', eos_token: '</s>' }));
    expect(t.templateSource).toBe('fallback');
    expect(t.chatTemplate).toBeNull();
    expect(t.renderChat(chat)).toBe('<s>### System:\nS\n\n### User:\nこんにちは\n\n### Assistant:\nA</s>\n\n');
    expect(t.renderChat(chat.slice(0, 2), { addGenerationPrompt: true })).toBe('<s>### System:\nS\n\n### User:\nこんにちは\n\n### Assistant:\n');
    expect(t.encodeChat(chat).filter((id) => id === t.bosTokenId)).toHaveLength(1);
    expectShitateError(() => t.renderChat([{ role: 'tool', content: '{}' }]), 'E_CHAT_TEMPLATE', 'found tool');
    // no tokenizer_config.json at all: no bos, no eos, still the plain format
    expect(loadTokenizer(folder(null)).renderChat(chat.slice(1))).toBe('### User:\nこんにちは\n\n### Assistant:\nA\n\n');
  });
});

describe('broken tokenizer folders', () => {
  it('a missing tokenizer.json, with advice when only slow-tokenizer files exist', () => {
    const dir = tempDir('shitate-tok-');
    expectShitateError(() => loadTokenizer(dir), 'E_TOKENIZER_MISSING', path.join(dir, 'tokenizer.json'), 'no tokenizer files');
    fs.writeFileSync(path.join(dir, 'tokenizer.model'), 'x');
    const e = expectShitateError(() => loadTokenizer(dir), 'E_TOKENIZER_MISSING', 'tokenizer.model');
    expect(e.hint).toMatch(/save_pretrained/);
  });

  it('invalid JSON in tokenizer.json or tokenizer_config.json names the file', () => {
    const dir = folder({});
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), '{"bos_token": ');
    expectShitateError(() => loadTokenizer(dir), 'E_JSON', path.join(dir, 'tokenizer_config.json'));
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), fs.readFileSync(base, 'utf8').slice(0, 200));
    expectShitateError(() => loadTokenizer(dir), 'E_JSON', path.join(dir, 'tokenizer.json'));
  });

  it('a tokenizer.json without a model, and a config naming a token the vocabulary lacks', () => {
    const dir = folder({ bos_token: '<|begin_of_text|>' });
    expectShitateError(() => loadTokenizer(dir), 'E_TOKENIZER', 'tokenizer_config.json', '"<|begin_of_text|>"');
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ version: '1.0', added_tokens: [] }));
    expectShitateError(() => loadTokenizer(dir), 'E_TOKENIZER', path.join(dir, 'tokenizer.json'), '"model"');
  });
});
