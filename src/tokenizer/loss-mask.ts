// Training tokens and loss masks. A chat is rendered once with the model's own template and tokenized once,
// so the ids are exactly the ids generation sees for the same conversation (SentencePiece tokenizers give
// "▁We" at the start of a separately tokenized piece and "We" inside the whole text); the assistant turns
// are located in that text (turn-spans.ts) and every token overlapping one is a target, as transformers'
// return_assistant_tokens_mask marks the tokens under each character of a generation span.
import { locateAssistantTurns, type AssistantSpan } from './turn-spans.js';
import type { ChatMessage, Tokenizer } from './types.js';

export interface MaskedTokens {
  ids: number[];
  /** 1 where the token is a training target */
  mask: number[];
  /** true when no end-of-turn/eos token followed an assistant span and one was appended */
  appendedEos: boolean;
}

export interface ChatMaskOptions {
  /** template variables, as apply_chat_template(**kwargs) (e.g. enable_thinking) */
  templateVars?: Record<string, unknown>;
  /** only assistant messages at or after this index are targets (a preference completion after its prompt) */
  fromMessage?: number;
}

/** Message text in the tokenizer's Unicode normal form, so token bytes align with the rendered text. */
function normalized(tok: Tokenizer, messages: readonly ChatMessage[]): ChatMessage[] {
  const form = tok.unicodeForm;
  if (!form) return messages.map((m) => ({ ...m }));
  return messages.map((m) => {
    const out: ChatMessage = { ...m, content: m.content.normalize(form) };
    if (typeof m.reasoning_content === 'string') out.reasoning_content = m.reasoning_content.normalize(form);
    return out;
  });
}

/** With thinking off (Qwen3's enable_thinking=false), a turn that carries reasoning opens like thinking on. */
export function thinkingAlternatives(tok: Tokenizer, vars: Record<string, unknown> | undefined): Record<string, unknown>[] {
  if (!tok.chatTemplate?.includes('enable_thinking') || vars?.enable_thinking !== false) return [];
  return [{ ...vars, enable_thinking: true }];
}

function sameIds(a: readonly number[], b: readonly number[], at: number): boolean {
  for (let i = 0; i < b.length; i++) if (a[at + i] !== b[i]) return false;
  return true;
}

/** Token index of a character boundary, when the tokens cannot be aligned to the text: the number of
 *  tokens the text before `b` shares with the whole (a token straddling b counts as after it). */
function boundaryByPrefix(tok: Tokenizer, text: string, ids: readonly number[], b: number): { k: number; exact: boolean } {
  const head = tok.encode(text.slice(0, b), { addSpecialTokens: false });
  let k = 0;
  while (k < head.length && k < ids.length && head[k] === ids[k]) k++;
  return { k, exact: k === head.length };
}

/** 1 for every token that overlaps a span, 0 elsewhere. */
export function maskFromSpans(tok: Tokenizer, text: string, ids: readonly number[], spans: readonly { start: number; end: number }[]): number[] {
  const mask = new Array<number>(ids.length).fill(0);
  const off = tok.tokenOffsets(text, ids);
  for (const s of spans) {
    if (s.end <= s.start) continue;
    if (off) {
      for (let k = 0; k < ids.length; k++) {
        const [a, b] = [off.starts[k], off.ends[k]];
        if (a === b ? a >= s.start && a < s.end : a < s.end && b > s.start) mask[k] = 1;
      }
      continue;
    }
    const from = boundaryByPrefix(tok, text, ids, s.start).k;
    const to = boundaryByPrefix(tok, text, ids, s.end);
    for (let k = from; k < Math.min(ids.length, to.exact ? to.k : to.k + 1); k++) mask[k] = 1;
  }
  return mask;
}

/** Chat SFT: loss on every assistant turn as the template renders it and on its end-of-turn token. */
export function chatLossMask(tok: Tokenizer, messages: readonly ChatMessage[], endIds: readonly number[], o: ChatMaskOptions = {}): MaskedTokens {
  const endTexts = endIds.filter((id) => tok.specialIds.has(id)).map((id) => tok.idToToken(id)).filter((t): t is string => t !== null);
  const located = locateAssistantTurns(tok, normalized(tok, messages), {
    ...(o.templateVars ? { templateVars: o.templateVars } : {}), alternativeVars: thinkingAlternatives(tok, o.templateVars), endTexts,
  });
  const { text } = located;
  const spans = located.spans.filter((s) => s.message >= (o.fromMessage ?? 0));
  const ids = tok.encode(text, { addSpecialTokens: false });
  const mask = maskFromSpans(tok, text, ids, spans);
  const open = spans.filter((s) => !s.endToken);
  if (open.length === 0 || endIds.length === 0) return { ids, mask, appendedEos: false };
  return appendEos(tok, text, ids, mask, open, endIds[0]);
}

/** Inserts the eos after each span that had no end-of-turn token, as a target (the model must learn to stop). */
function appendEos(tok: Tokenizer, text: string, ids: number[], mask: number[], open: AssistantSpan[], eos: number): MaskedTokens {
  const off = tok.tokenOffsets(text, ids);
  const cuts = open.map((s) => {
    if (off) {
      let k = 0;
      while (k < ids.length && off.starts[k] < s.end) k++;
      return k;
    }
    const b = boundaryByPrefix(tok, text, ids, s.end);
    return b.exact ? b.k : b.k + 1;
  });
  const outIds: number[] = [];
  const outMask: number[] = [];
  let c = 0;
  for (let k = 0; k <= ids.length; k++) {
    while (c < cuts.length && cuts[c] === k) {
      outIds.push(eos);
      outMask.push(1);
      c++;
    }
    if (k < ids.length) {
      outIds.push(ids[k]);
      outMask.push(mask[k]);
    }
  }
  return { ids: outIds, mask: outMask, appendedEos: true };
}

/** Prompt/completion: prompt + completion tokenized together (as TRL does), loss on the completion and the
 *  eos that ends it; the tokenizer's own leading special tokens (bos) come first. */
export function completionLossMask(tok: Tokenizer, prompt: string, completion: string, eosId: number | null): MaskedTokens {
  const text = prompt + completion;
  const plain = tok.encode(text, { addSpecialTokens: false });
  const withSpecials = tok.encode(text, { addSpecialTokens: true });
  let lead = 0;
  while (lead + plain.length <= withSpecials.length && !sameIds(withSpecials, plain, lead)) lead++;
  const head = lead + plain.length <= withSpecials.length ? withSpecials.slice(0, lead) : [];
  const mask = [...head.map(() => 0), ...maskFromSpans(tok, text, plain, [{ start: prompt.length, end: text.length }])];
  const ids = [...head, ...plain];
  if (eosId !== null) {
    ids.push(eosId);
    mask.push(1);
  }
  return { ids, mask, appendedEos: false };
}

/** Raw text (continued pre-training): every token is a target; an eos closes the document. */
export function textLossMask(tok: Tokenizer, text: string, eosId: number | null): MaskedTokens {
  const ids = tok.encode(text, { addSpecialTokens: true });
  if (eosId !== null) ids.push(eosId);
  return { ids, mask: ids.map(() => 1), appendedEos: false };
}

/** The special token that closes an assistant turn in this template (<|im_end|>, <|eot_id|>, </s>,
 *  <end_of_turn>), found as the first special token after a probe answer; generation stops on it as well
 *  as on the eos ids. Only the first: the original Llama-3 template follows <|eot_id|> with a new header,
 *  which is not part of the turn. */
export function endOfTurnIds(tok: Tokenizer): number[] {
  const answer = 'SHITATEPROBEANSWER';
  let text: string;
  try {
    text = tok.renderChat([{ role: 'user', content: 'q' }, { role: 'assistant', content: answer }], { addGenerationPrompt: false });
  } catch {
    return [];
  }
  const at = text.lastIndexOf(answer);
  if (at < 0) return [];
  const first = tok.encode(text.slice(at + answer.length), { addSpecialTokens: false }).find((id) => tok.specialIds.has(id));
  return first === undefined ? [] : [first];
}
