// Reasoning blocks in replies, split as vLLM's Qwen3 reasoning parser splits them (whole and streamed), and
// printed or hidden on purpose by the chat printer.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ReasoningStream, answerOnly, chatPrompt, hasReasoning, reasoningMode, splitReasoning } from '../../src/generate/index.js';
import { loadTokenizer, type Tokenizer } from '../../src/tokenizer/index.js';
import { ReplyPrinter } from '../../src/cli/reply-printer.js';
import { tokenizerDir } from '../helpers/templates.js';

let qwen3: Tokenizer;
beforeAll(() => {
  qwen3 = loadTokenizer(tokenizerDir('qwen3'));
});

const ON = { promptEnded: false, thinkingOn: true };
const ask = [{ role: 'user', content: 'hi' }];

describe('reasoning split', () => {
  it('knows which prompts leave the reply in a reasoning block (Qwen3 yes, thinking off no, Qwen2.5 none)', () => {
    expect(reasoningMode(qwen3, chatPrompt(qwen3, ask), {})).toEqual(ON);
    const off = { enable_thinking: false };
    expect(reasoningMode(qwen3, chatPrompt(qwen3, ask, off), off)).toEqual({ promptEnded: true, thinkingOn: false });
    const qwen25 = loadTokenizer(tokenizerDir('qwen2_5'));
    expect(hasReasoning(qwen25)).toBe(false);
    expect(reasoningMode(qwen25, chatPrompt(qwen25, ask), {})).toBeNull();
  });

  it('splits a whole reply as vLLM does', () => {
    expect(splitReasoning('<think>\nplan\n</think>\n\nAnswer', ON)).toEqual({ reasoning: '\nplan\n', content: '\n\nAnswer' });
    expect(splitReasoning('plan</think>Answer', ON)).toEqual({ reasoning: 'plan', content: 'Answer' });
    expect(splitReasoning('<think>cut short', ON)).toEqual({ reasoning: 'cut short', content: null });
    expect(splitReasoning('<think>x</think>', ON)).toEqual({ reasoning: 'x', content: null });
    expect(splitReasoning('Answer only', { promptEnded: false, thinkingOn: false })).toEqual({ reasoning: null, content: 'Answer only' });
    expect(splitReasoning('<think>a</think>b', { promptEnded: true, thinkingOn: false })).toEqual({ reasoning: null, content: '<think>a</think>b' });
  });

  it('scores the answer alone (eval): reasoning and the blank line after it left out', () => {
    expect(answerOnly(qwen3, chatPrompt(qwen3, ask), {}, '<think>\nplan\n</think>\n\nAnswer')).toBe('Answer');
    expect(answerOnly(qwen3, chatPrompt(qwen3, ask), {}, '<think>\nnever finished')).toBe('');
    const off = { enable_thinking: false };
    expect(answerOnly(qwen3, chatPrompt(qwen3, ask, off), off, 'Answer')).toBe('Answer');
  });

  it('streams to the same split whatever the chunking', () => {
    const text = '<think>\nstep 1 < step 2\n</think>\n\nThe answer </thi is here';
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: text.length - 1 }), { maxLength: 8 }), (cuts) => {
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const chunks = [0, ...points].map((p, i) => text.slice(p, points[i] ?? text.length));
      const s = new ReasoningStream(ON);
      let reasoning = '';
      let content = '';
      for (const c of [...chunks.map((c) => s.push(c)), s.flush()]) {
        reasoning += c.reasoning;
        content += c.content;
      }
      const whole = splitReasoning(text, ON);
      expect(reasoning).toBe(whole.reasoning);
      expect(content).toBe(whole.content);
    }), { numRuns: 200 });
  });
});

describe('the chat printer', () => {
  function run(show: boolean, tty: boolean): { out: string; err: string; reply: ReturnType<ReplyPrinter['end']> } {
    let out = '';
    let err = '';
    const p = new ReplyPrinter(ON, show, tty, (s) => (out += s), (s) => (err += s));
    for (const piece of ['<think>', '\nplan', '\n</think>', '\n\nAns', 'wer']) p.write(piece);
    const reply = p.end();
    return { out, err, reply };
  }

  it('hides reasoning by default and says how long it was', () => {
    const r = run(false, false);
    expect(r.out).toBe('Answer');
    expect(r.err).toContain('[reasoning hidden: 4 characters; --show-thinking shows it]');
    expect(r.reply).toEqual({ content: 'Answer', reasoning: '\nplan\n' });
  });

  it('shows it with --show-thinking: dimmed on a terminal, between tags when piped', () => {
    expect(run(true, false).out).toBe('<think>\nplan\n</think>\nAnswer');
    expect(run(true, true).out).toBe('\x1b[2m\nplan\n\x1b[22m\nAnswer');
    expect(run(true, false).err).toBe('');
  });
});
