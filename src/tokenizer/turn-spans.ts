// Where each assistant turn lies in the rendering of the whole conversation, for stock templates that
// rewrite earlier turns (Qwen3 drops <think> blocks from history; the original Llama-3 template always ends
// with an assistant header). Each turn is found in the full text two ways: the generation prompt of the
// conversation before it, where the full text continues it exactly (then the target is everything the model
// would write after that prompt), else by rendering the turn with a sentinel answer and diffing (then the
// target is the answer as the template wrote it). Either way the target ends with the end-of-turn token.
import { ShitateError } from '../errors.js';
import type { ChatMessage, Tokenizer } from './types.js';

export interface AssistantSpan {
  /** index of the assistant message in the conversation */
  message: number;
  /** [start, end): UTF-16 range of the rendered text that is trained, the end-of-turn token included */
  start: number;
  end: number;
  /** false when no end-of-turn token follows the turn (the caller appends the eos) */
  endToken: boolean;
  /** 'prefix': the text continues the generation prompt exactly; 'content': found by the answer alone */
  how: 'prefix' | 'content';
}

export interface RenderedTurns {
  /** the whole conversation as the template renders it (apply_chat_template(tokenize=False)) */
  text: string;
  spans: AssistantSpan[];
}

export interface SpanOptions {
  /** template variables (enable_thinking, ...) */
  templateVars?: Record<string, unknown>;
  /** further variable sets whose generation prompt may also open a turn (e.g. thinking on, for a turn that
   *  carries reasoning while training renders with thinking off) */
  alternativeVars?: Record<string, unknown>[];
  /** texts of the tokens that close an assistant turn (<|im_end|>, <|eot_id|>, </s>, ...) */
  endTexts: readonly string[];
}

function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

function commonSuffix(a: string, b: string, limit: number): number {
  let i = 0;
  while (i < limit && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++;
  return i;
}

/** A reasoning block written inline ("<think>...</think>answer") stays; only the answer is replaced. */
function withSentinel(m: ChatMessage, sentinel: string): ChatMessage {
  const close = m.content.lastIndexOf('</think>');
  if (close < 0) return { ...m, content: sentinel };
  const head = m.content.slice(0, close + '</think>'.length);
  const gap = /^\s*/.exec(m.content.slice(head.length))![0];
  return { ...m, content: head + gap + sentinel };
}

type Render = (messages: readonly ChatMessage[], generation: boolean, vars?: Record<string, unknown>) => string;

/** The [start, end) of message i's answer in `full`, by diffing against a rendering with a sentinel answer;
 *  null when the template leaves the answer out or writes it more than once. */
function answerRegion(render: Render, full: string, messages: readonly ChatMessage[], i: number): { start: number; end: number } | null {
  let sentinel = `SHITATE${i}ANSWER`;
  while (full.includes(sentinel)) sentinel += 'X';
  const probe = messages.map((m, k) => (k === i ? withSentinel(m, sentinel) : m));
  const other = render(probe, false);
  const p = other.indexOf(sentinel);
  if (p < 0 || other.indexOf(sentinel, p + 1) >= 0) return null;
  const head = Math.min(commonPrefix(full, other), p);
  const tailRoom = other.length - p - sentinel.length;
  const tail = commonSuffix(full, other, Math.min(tailRoom, full.length - head));
  return { start: head, end: full.length - tail };
}

function firstEnd(full: string, from: number, before: number, endTexts: readonly string[]): { at: number; len: number } | null {
  let best: { at: number; len: number } | null = null;
  for (const t of endTexts) {
    if (!t) continue;
    const at = full.indexOf(t, from);
    if (at >= 0 && at < before && (best === null || at < best.at)) best = { at, len: t.length };
  }
  return best;
}

export function turnError(message: number, found: string): ShitateError {
  return new ShitateError('E_TEMPLATE', `message ${message + 1} (assistant): expected to find it in the conversation as the chat template renders it, found ${found}`,
    'the model\'s chat template leaves this answer out or writes it more than once, so no tokens can be trained on it: give the message a visible ' +
    'answer (some templates hide an answer that is only a <think> block), or leave the example out');
}

/** Renders the conversation once and locates every assistant turn in it. */
export function locateAssistantTurns(tok: Tokenizer, messages: readonly ChatMessage[], o: SpanOptions): RenderedTurns {
  const render: Render = (msgs, generation, vars = o.templateVars) =>
    tok.renderChat(msgs, vars ? { addGenerationPrompt: generation, templateVars: vars } : { addGenerationPrompt: generation });
  const text = render(messages, false);
  const wanted = messages.flatMap((m, i) => (m.role === 'assistant' ? [i] : []));
  const regions = wanted.map((i) => answerRegion(render, text, messages, i));
  const spans: AssistantSpan[] = [];
  let prevEnd = 0;
  wanted.forEach((i, k) => {
    const region = regions[k];
    let start = -1;
    for (const vars of [o.templateVars, ...(o.alternativeVars ?? [])]) {
      let prompt: string;
      try {
        prompt = render(messages.slice(0, i), true, vars);
      } catch {
        continue; // e.g. a template that cannot render an empty conversation
      }
      if (text.startsWith(prompt) && prompt.length >= prevEnd && (region === null || prompt.length <= region.start)) {
        start = prompt.length;
        break;
      }
    }
    const how = start >= 0 ? 'prefix' : 'content';
    if (start < 0) {
      if (region === null) throw turnError(i, 'neither its answer nor the generation prompt before it in the rendered text');
      start = region.start;
    }
    if (start < prevEnd) throw turnError(i, `it rendered before the end of the previous assistant message (character ${start} < ${prevEnd})`);
    const from = region ? Math.max(region.end, start) : start;
    const before = regions.slice(k + 1).find((r) => r !== null)?.start ?? text.length;
    const close = firstEnd(text, from, Math.max(before, from), o.endTexts);
    if (!close && region === null) throw turnError(i, 'no answer and no end-of-turn token after the generation prompt');
    const end = close ? close.at + close.len : region!.end;
    spans.push({ message: i, start, end, endToken: close !== null, how });
    prevEnd = end;
  });
  return { text, spans };
}
