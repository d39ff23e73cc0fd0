// Training tokens and loss masks computed from the model's own chat template: the conversation is rendered
// prefix by prefix (before each assistant turn with the generation prompt, after it without) and the text
// differences are tokenized in order. Works for stock templates without {% generation %} markers, and the
// prompt part of each turn tokenizes exactly as generation will see it.
import { ShitateError } from '../errors.js';
import type { ChatMessage, Tokenizer } from './types.js';

export interface MaskedTokens {
  ids: number[];
  /** 1 where the token is a training target */
  mask: number[];
  /** true when no end-of-turn/eos token was inside an assistant span and one was appended */
  appendedEos: boolean;
}

function push(out: MaskedTokens, ids: number[], m: number): void {
  for (const id of ids) {
    out.ids.push(id);
    out.mask.push(m);
  }
}

/** Chat SFT: loss on every assistant turn's content and its end-of-turn token(s), nothing else. */
export function chatLossMask(tok: Tokenizer, messages: readonly ChatMessage[], endIds: readonly number[]): MaskedTokens {
  const out: MaskedTokens = { ids: [], mask: [], appendedEos: false };
  const enc = (s: string) => (s ? tok.encode(s, { addSpecialTokens: false }) : []);
  let soFar = '';
  for (let i = 0; i < messages.length; i++) {
    if (messages[i].role !== 'assistant') continue;
    const before = tok.renderChat(messages.slice(0, i), { addGenerationPrompt: true });
    const after = tok.renderChat(messages.slice(0, i + 1), { addGenerationPrompt: false });
    if (!before.startsWith(soFar) || !after.startsWith(before)) {
      throw new ShitateError('E_TEMPLATE',
        `chat template is not prefix-stable at message ${i + 1}: rendering the conversation up to the assistant turn ` +
        'does not give a prefix of the conversation including it, so the assistant tokens cannot be located',
        'use the model\'s stock chat template, or a template that renders earlier turns the same whatever follows');
    }
    push(out, enc(before.slice(soFar.length)), 0);
    const span = enc(after.slice(before.length));
    if (!span.some((id) => endIds.includes(id)) && endIds.length > 0) {
      span.push(endIds[0]);
      out.appendedEos = true;
    }
    push(out, span, 1);
    soFar = after;
  }
  const full = tok.renderChat(messages, { addGenerationPrompt: false });
  if (full.startsWith(soFar)) push(out, enc(full.slice(soFar.length)), 0);
  return out;
}

/** Prompt/completion: loss on the completion and the eos that ends it. */
export function completionLossMask(tok: Tokenizer, prompt: string, completion: string, eosId: number | null): MaskedTokens {
  const out: MaskedTokens = { ids: [], mask: [], appendedEos: false };
  push(out, tok.encode(prompt, { addSpecialTokens: true }), 0);
  const c = tok.encode(completion, { addSpecialTokens: false });
  if (eosId !== null) c.push(eosId);
  push(out, c, 1);
  return out;
}

/** Raw text (continued pre-training): every token is a target; an eos closes the document. */
export function textLossMask(tok: Tokenizer, text: string, eosId: number | null): MaskedTokens {
  const out: MaskedTokens = { ids: [], mask: [], appendedEos: false };
  const ids = tok.encode(text, { addSpecialTokens: true });
  if (eosId !== null) ids.push(eosId);
  push(out, ids, 1);
  return out;
}

/** The special tokens that close an assistant turn in this template (e.g. <|im_end|>, <|eot_id|>, </s>),
 *  found by rendering a probe conversation; generation stops on them as well as on the eos ids. */
export function endOfTurnIds(tok: Tokenizer): number[] {
  const probe = [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }];
  let before: string;
  let after: string;
  try {
    before = tok.renderChat(probe.slice(0, 1), { addGenerationPrompt: true });
    after = tok.renderChat(probe, { addGenerationPrompt: false });
  } catch {
    return [];
  }
  if (!after.startsWith(before)) return [];
  const span = after.slice(before.length);
  const at = span.indexOf('a');
  const tail = tok.encode(span.slice(at + 1), { addSpecialTokens: false });
  return tail.filter((id) => tok.specialIds.has(id));
}
