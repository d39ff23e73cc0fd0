// The memory-extraction call fits the model's window: newest known facts first, a long message cut to its start,
// nothing asked when not even the instructions fit.
import { describe, expect, it } from 'vitest';
import { fitExtraction } from '../../src/assistants/extract-fit.js';
import type { ContextWindow } from '../../src/assistants/window.js';
import { EXTRACT_REPLY_TOKENS, extractionMessages } from '../../src/memory/index.js';
import type { ChatMessage } from '../../src/providers/index.js';

/** A window counting one token per character of every message, plus 4 per message. */
function charWindow(tokens: number): ContextWindow {
  const countText = (t: string) => Array.from(t).length;
  return {
    tokens, source: 'test', exact: true, defaultAnswer: 64, countText,
    countChat: (ms: readonly ChatMessage[]) => ms.reduce((a, m) => a + 4 + countText(m.content), 0),
    withVars() { return this; },
  } as unknown as ContextWindow;
}

const size = (w: ContextWindow, m: string, k: readonly string[]) => w.countChat(extractionMessages(m, k));
const facts = Array.from({ length: 40 }, (_, i) => `fact number ${i} about the user`);

describe('fitExtraction', () => {
  it('keeps everything when it fits', () => {
    const w = charWindow(100_000);
    expect(fitExtraction(w, '私の名前は田中です。', facts)).toEqual({ message: '私の名前は田中です。', known: facts });
  });

  it('keeps the newest known facts that fit, in stored order, and leaves the answer its room', () => {
    const w = charWindow(size(charWindow(0), 'hello', []) + EXTRACT_REPLY_TOKENS + 300);
    const f = fitExtraction(w, 'hello', facts)!;
    expect(f.message).toBe('hello');
    expect(f.known.length).toBeGreaterThan(0);
    expect(f.known.length).toBeLessThan(facts.length);
    expect(f.known).toEqual(facts.slice(facts.length - f.known.length));
    expect(size(w, f.message, f.known) + EXTRACT_REPLY_TOKENS).toBeLessThanOrEqual(w.tokens);
    expect(size(w, f.message, facts.slice(facts.length - f.known.length - 1)) + EXTRACT_REPLY_TOKENS).toBeGreaterThan(w.tokens);
  });

  it('cuts a message longer than the window to its start', () => {
    const w = charWindow(size(charWindow(0), '', []) + EXTRACT_REPLY_TOKENS + 50);
    const long = 'あ'.repeat(500);
    const f = fitExtraction(w, long, facts)!;
    expect(f.message).toBe('あ'.repeat(50));
    expect(f.known).toEqual([]);
  });

  it('asks nothing when not even the instructions fit', () => {
    expect(fitExtraction(charWindow(EXTRACT_REPLY_TOKENS + 10), 'hello', facts)).toBeNull();
  });
});
