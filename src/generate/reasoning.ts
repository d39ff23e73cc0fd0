// A reply split into its reasoning (<think> ... </think>) and its answer, the way vLLM's reasoning parser
// for Qwen3-style templates does: a <think> the model writes is dropped, text before </think> is reasoning
// and text after it the answer; a prompt that already closed the block (enable_thinking=false puts an empty
// one there) makes everything the answer; with thinking on, a reply cut before </think> is all reasoning.
import type { TemplateVars, Tokenizer } from '../tokenizer/index.js';

const OPEN = '<think>';
const CLOSE = '</think>';

export interface ReasoningMode {
  /** the prompt already closed the reasoning block: the whole reply is the answer */
  promptEnded: boolean;
  /** enable_thinking was not set to false (Qwen3's default is on) */
  thinkingOn: boolean;
}

/** Whether replies of this model carry <think> blocks: the tokenizer has the tokens and the template uses them. */
export function hasReasoning(tok: Tokenizer): boolean {
  return tok.tokenToId(CLOSE) !== null && tok.tokenToId(OPEN) !== null && (tok.chatTemplate?.includes(CLOSE) ?? false);
}

/** The mode for one reply, or null when the model has no reasoning blocks. */
export function reasoningMode(tok: Tokenizer, promptIds: readonly number[], vars: TemplateVars): ReasoningMode | null {
  if (!hasReasoning(tok)) return null;
  const open = tok.tokenToId(OPEN);
  const close = tok.tokenToId(CLOSE);
  let promptEnded = false;
  for (let i = promptIds.length - 1; i >= 0; i--) {
    if (promptIds[i] === open) break;
    if (promptIds[i] === close) {
      promptEnded = true;
      break;
    }
  }
  return { promptEnded, thinkingOn: vars.enable_thinking !== false };
}

export interface Split {
  reasoning: string | null;
  content: string | null;
}

/** The whole reply split (vLLM's extract_reasoning). */
export function splitReasoning(text: string, mode: ReasoningMode): Split {
  if (mode.promptEnded) return { reasoning: null, content: text };
  const at = text.indexOf(OPEN);
  const body = at >= 0 ? text.slice(at + OPEN.length) : text;
  const end = body.indexOf(CLOSE);
  if (end >= 0) return { reasoning: body.slice(0, end), content: body.slice(end + CLOSE.length) || null };
  return mode.thinkingOn ? { reasoning: body, content: null } : { reasoning: null, content: body };
}

/** The answer part of a reply (reasoning left out, and the blank line after it), for scoring. */
export function answerOnly(tok: Tokenizer, promptIds: readonly number[], vars: TemplateVars, text: string): string {
  const mode = reasoningMode(tok, promptIds, vars);
  if (!mode) return text;
  const split = splitReasoning(text, mode);
  return split.reasoning === null ? split.content ?? '' : (split.content ?? '').replace(/^\n+/, '');
}

/** The same split for a stream of text deltas: each push returns what became reasoning and answer. A tail
 *  that may be the start of a tag is held back until the next push (or flush). */
export class ReasoningStream {
  private inReasoning: boolean;
  private pending = '';
  private opened = false;

  constructor(mode: ReasoningMode) {
    this.inReasoning = !mode.promptEnded;
  }

  push(delta: string): { reasoning: string; content: string } {
    if (!this.inReasoning) return { reasoning: '', content: delta };
    let text = this.pending + delta;
    this.pending = '';
    if (!this.opened) {
      const at = text.indexOf(OPEN);
      if (at >= 0) {
        text = text.slice(0, at) + text.slice(at + OPEN.length);
        this.opened = true;
      }
    }
    const end = text.indexOf(CLOSE);
    if (end >= 0) {
      this.inReasoning = false;
      return { reasoning: text.slice(0, end), content: text.slice(end + CLOSE.length) };
    }
    const keep = partialTag(text);
    this.pending = text.slice(text.length - keep);
    return { reasoning: text.slice(0, text.length - keep), content: '' };
  }

  flush(): { reasoning: string; content: string } {
    const rest = this.pending;
    this.pending = '';
    return this.inReasoning ? { reasoning: rest, content: '' } : { reasoning: '', content: rest };
  }
}

/** Length of the longest suffix of `text` that is a proper prefix of <think> or </think>. */
function partialTag(text: string): number {
  for (let n = Math.min(CLOSE.length - 1, text.length); n > 0; n--) {
    const tail = text.slice(text.length - n);
    if (CLOSE.startsWith(tail) || OPEN.startsWith(tail)) return n;
  }
  return 0;
}
