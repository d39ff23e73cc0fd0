// Training ids and loss masks with every real tokenizer the project ships as a fixture (Qwen3, Qwen2.5,
// Llama-3, Llama-3.2, Llama-2 with the fallback, Llama-2-chat and Mistral templates, Gemma-3): the ids are
// the ids of the whole rendered conversation as generation tokenizes it and as the Rust `tokenizers`
// (what transformers uses) tokenizes it, and the targets are exactly the tokens under each assistant answer
// and its end-of-turn token, by the Rust tokenizer's own offsets.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import rust from 'tokenizers';
import { loadTokenizer, type ChatMessage, type Tokenizer } from '../../src/tokenizer/index.js';
import { chatLossMask, completionLossMask, endOfTurnIds } from '../../src/tokenizer/loss-mask.js';
import { LLAMA2_CHAT, MISTRAL_V01, tokenizerDir, withTemplate, type TokenizerName } from '../helpers/templates.js';

interface Case {
  label: string;
  name: TokenizerName;
  template?: string;
  vars?: Record<string, unknown>;
  /** how the template writes an answer (trim, strip, as is) */
  rendered: (answer: string) => string;
  endText: string;
  system: boolean;
}

const asIs = (s: string): string => s;
const trim = (s: string): string => s.trim();

const CASES: Case[] = [
  { label: 'Qwen3 (thinking off)', name: 'qwen3', vars: { enable_thinking: false }, rendered: asIs, endText: '<|im_end|>', system: true },
  { label: 'Qwen2.5', name: 'qwen2_5', rendered: asIs, endText: '<|im_end|>', system: true },
  { label: 'Llama-3 (original template)', name: 'llama3', rendered: trim, endText: '<|eot_id|>', system: true },
  { label: 'Llama-3.2', name: 'llama3_2', rendered: trim, endText: '<|eot_id|>', system: true },
  { label: 'Llama-2 (no template: fallback format)', name: 'llama2', rendered: asIs, endText: '</s>', system: true },
  { label: 'Llama-2 + Llama-2-chat template', name: 'llama2', template: LLAMA2_CHAT, rendered: trim, endText: '</s>', system: true },
  { label: 'Llama-2 + Mistral v0.1 template', name: 'llama2', template: MISTRAL_V01, rendered: asIs, endText: '</s>', system: false },
  { label: 'Gemma-3', name: 'gemma3', rendered: trim, endText: '<end_of_turn>', system: true },
];

const CONVERSATION: ChatMessage[] = [
  { role: 'system', content: 'あなたはACMEのサポート担当です。' },
  { role: 'user', content: 'What are your hours?' },
  { role: 'assistant', content: 'We are open 9 to 6, 平日のみです。' },
  { role: 'user', content: ' 返品できますか？ ' },
  { role: 'assistant', content: 'Yes: within 30 days.\n\n30日以内なら返品できます 🙇' },
];

const tokenizers = new Map<string, Tokenizer>();
const rusts = new Map<string, rust.Tokenizer>();

function dirOf(c: Case): string {
  return c.template ? withTemplate(c.name, c.template) : tokenizerDir(c.name);
}

/** UTF-16 index of each code point index (the Rust binding reports offsets in code points). */
function codePointIndex(text: string): number[] {
  const out: number[] = [];
  let i = 0;
  for (const ch of text) {
    out.push(i);
    i += ch.length;
  }
  out.push(i);
  return out;
}

/** The oracle: the Rust tokenizer's ids, and 1 for each token whose offsets overlap an expected span. */
async function rustMask(name: TokenizerName, text: string, spans: { start: number; end: number }[]): Promise<{ ids: number[]; mask: number[] }> {
  const enc = await rusts.get(name)!.encode(text, null, { addSpecialTokens: false });
  const at = codePointIndex(text);
  const mask = enc.getOffsets().map(([a, b]) => (spans.some((s) => at[a] < s.end && at[b] > s.start) ? 1 : 0));
  return { ids: Array.from(enc.getIds()), mask };
}

/** Each answer as the template writes it, through the next end-of-turn text. */
function expectedSpans(c: Case, text: string, messages: ChatMessage[]): { start: number; end: number }[] {
  let cursor = 0;
  return messages.filter((m) => m.role === 'assistant').map((m) => {
    const answer = c.rendered(m.content);
    const start = text.indexOf(answer, cursor);
    const close = text.indexOf(c.endText, start + answer.length);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(close).toBeGreaterThanOrEqual(0);
    cursor = close + c.endText.length;
    return { start, end: cursor };
  });
}

beforeAll(() => {
  for (const c of CASES) {
    tokenizers.set(c.label, loadTokenizer(dirOf(c)));
    if (!rusts.has(c.name)) rusts.set(c.name, rust.Tokenizer.fromFile(path.join(tokenizerDir(c.name), 'tokenizer.json')));
  }
}, 60_000);

describe.each(CASES)('$label', (c) => {
  const messages = c.system ? CONVERSATION : CONVERSATION.slice(1);
  const opts = c.vars ? { templateVars: c.vars } : {};

  it('trains on the ids generation sees for the whole conversation, the targets being each answer and its end token', async () => {
    const tok = tokenizers.get(c.label)!;
    const endIds = [...new Set([...tok.eosTokenIds, ...endOfTurnIds(tok)])];
    expect(endIds).toContain(tok.tokenToId(c.endText));
    const { ids, mask, appendedEos } = chatLossMask(tok, messages, endIds, opts);
    expect(appendedEos).toBe(false);
    const text = tok.renderChat(messages, opts);
    expect(ids).toEqual(tok.encodeChat(messages, opts)); // generation's tokenization of the same conversation
    const oracle = await rustMask(c.name, text, expectedSpans(c, text, messages));
    expect(ids).toEqual(oracle.ids); // transformers' (Rust tokenizers') tokenization
    expect(mask).toEqual(oracle.mask);
    const endId = tok.tokenToId(c.endText)!;
    const endMasks = ids.flatMap((id, i) => (id === endId ? [mask[i]] : []));
    expect(endMasks.filter((m) => m === 1)).toHaveLength(2); // both answers' end tokens, nothing else's
  });

  it('gives token offsets that agree with the Rust tokenizer', async () => {
    const tok = tokenizers.get(c.label)!;
    const text = `${tok.renderChat(messages, opts)}  tabs\t\tand 🇯🇵 ｶﾀｶﾅ  end`;
    const ids = tok.encode(text, { addSpecialTokens: false });
    const off = tok.tokenOffsets(text, ids)!;
    expect(off).not.toBeNull();
    const enc = await rusts.get(c.name)!.encode(text, null, { addSpecialTokens: false });
    const at = codePointIndex(text);
    enc.getOffsets().forEach(([a, b], k) => {
      expect(off.starts[k]).toBe(at[a]);
      if (off.ends[k] > off.starts[k]) expect(off.ends[k]).toBe(at[b]); // an inserted "▁" is zero-width here
    });
  });
});

describe('templates that rewrite earlier turns', () => {
  it('Qwen3: multi-turn data with reasoning trains; earlier answers as the template shows them, the last one with its reasoning', () => {
    const tok = tokenizers.get('Qwen3 (thinking off)')!;
    const endIds = [tok.tokenToId('<|im_end|>')!];
    const msgs: ChatMessage[] = [
      { role: 'user', content: 'A?' },
      { role: 'assistant', content: '<think>\nold reasoning\n</think>\n\nB.' },
      { role: 'user', content: 'C?' },
      { role: 'assistant', content: 'D.', reasoning_content: 'think about D' },
    ];
    const runs = (o: { templateVars?: Record<string, unknown> }): string[] => {
      const { ids, mask } = chatLossMask(tok, msgs, endIds, o);
      expect(ids).toEqual(tok.encode(tok.renderChat(msgs, o), { addSpecialTokens: false }));
      const out: string[] = [];
      let cur: number[] = [];
      ids.forEach((id, i) => {
        if (mask[i]) cur.push(id);
        else if (cur.length) {
          out.push(tok.decode(cur));
          cur = [];
        }
      });
      if (cur.length) out.push(tok.decode(cur));
      return out;
    };
    // thinking off (training's default) and on give the same targets here: the reasoning is model output
    for (const vars of [{ enable_thinking: false }, {}]) {
      expect(runs({ templateVars: vars })).toEqual(['B.<|im_end|>', '<think>\nthink about D\n</think>\n\nD.<|im_end|>']);
    }
    // without reasoning, thinking off trains the answer alone (the empty think block is in the prompt)
    const plain = msgs.map((m) => ({ role: m.role, content: m.role === 'assistant' ? 'D.' : m.content }));
    const { ids, mask } = chatLossMask(tok, plain, endIds, { templateVars: { enable_thinking: false } });
    expect(tok.decode(ids.filter((_, i) => mask[i] === 1))).toBe('D.<|im_end|>D.<|im_end|>');
  });

  it('Llama-3 (original): single-turn data does not train the assistant header the template appends after <|eot_id|>', () => {
    const tok = tokenizers.get('Llama-3 (original template)')!;
    const endIds = [...new Set([...tok.eosTokenIds, ...endOfTurnIds(tok)])];
    expect(endIds.map((id) => tok.idToToken(id))).toEqual(['<|end_of_text|>', '<|eot_id|>']); // not the header tokens
    const { ids, mask } = chatLossMask(tok, [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }], endIds);
    expect(tok.decode(ids)).toMatch(/Hello!<\|eot_id\|><\|start_header_id\|>assistant<\|end_header_id\|>\n\n$/);
    expect(tok.decode(ids.filter((_, i) => mask[i] === 1))).toBe('Hello!<|eot_id|>');
  });
});

describe('prompt/completion', () => {
  it('tokenizes prompt + completion once (no second "▁" before the completion in SentencePiece)', () => {
    const tok = tokenizers.get('Llama-2 (no template: fallback format)')!;
    const prompt = 'Q: What are your hours?\nA:';
    const { ids, mask } = completionLossMask(tok, prompt, ' We are open 9 to 6.', tok.eosTokenId);
    expect(ids).toEqual([...tok.encode(prompt + ' We are open 9 to 6.'), tok.eosTokenId]);
    expect(tok.decode(ids.filter((_, i) => mask[i] === 1))).toBe('We are open 9 to 6.</s>');
    expect(ids.slice(0, mask.indexOf(1))).toEqual(tok.encode(prompt));
  });
});
