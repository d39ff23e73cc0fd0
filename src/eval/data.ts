// Held-out questions for evaluation: each JSONL record becomes a prompt and a reference answer. In chat
// files the last assistant message is the reference and the messages before it are the prompt; in
// prompt/completion files the completion is the reference.
import { ShitateError } from '../errors.js';
import type { ChatMessage } from '../tokenizer/index.js';
import { readRecords } from '../train/dataset.js';

export interface EvalItem {
  /** 0-based position among the evaluated records */
  index: number;
  /** line in the data file */
  line: number;
  /** chat: the messages before the reference; null for prompt/completion records */
  messages: ChatMessage[] | null;
  /** prompt/completion: the prompt; null for chat records */
  prompt: string | null;
  /** what the report shows as the question: the last user message (or the prompt) */
  question: string;
  reference: string;
  /** grounded items: what of the prompt's passages an answer may quote (source-anchored decoding) */
  quote?: string[];
}

function fromChat(file: string, messages: ChatMessage[], index: number, line: number): EvalItem {
  let last = -1;
  for (let i = messages.length - 1; i >= 0 && last < 0; i--) if (messages[i].role === 'assistant') last = i;
  const before = messages.slice(0, last);
  if (before.length === 0) {
    throw new ShitateError('E_DATA', `${file}:${line}: expected messages before the last assistant answer (the question), found none`,
      'each evaluation conversation needs at least a user message followed by the reference assistant answer');
  }
  const users = before.filter((m) => m.role === 'user');
  const question = (users.length ? users[users.length - 1] : before[before.length - 1]).content;
  return { index, line, messages: before, prompt: null, question, reference: messages[last].content };
}

/** Reads the evaluation file (chat or prompt/completion JSONL); `limit` keeps only the first N records. */
export function readEvalItems(file: string, limit: number | null = null): EvalItem[] {
  const recs = readRecords(file);
  if (recs[0].mode === 'text') {
    throw new ShitateError('E_DATA', `${file}: expected chat ({"messages"}) or prompt/completion records, found raw text ({"text"})`,
      'evaluation compares answers with references: give held-out conversations whose last assistant message is the expected answer');
  }
  const kept = limit === null ? recs : recs.slice(0, limit);
  return kept.map((r, index) => {
    if (r.mode === 'chat') return fromChat(file, r.messages!, index, r.line);
    return { index, line: r.line, messages: null, prompt: r.prompt!, question: r.prompt!, reference: r.completion! };
  });
}
