// `data prepare --with-context KB`: the prepared chat examples rewritten as retrieval-augmented ones. Each
// question gets the entries retrieval returns for it, laid out as the assistant lays out a turn, and learns
// to answer from them and cite the entry; a seeded share of examples loses the right entry (the next ones
// retrieval returns move up) and learns to say the answer is not there. Retrieval and layout come from the
// caller (they live in rag/ and assistants/); this module picks, rewrites, counts and writes atomically.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { foldForMatch } from './normalize.js';
import type { Lang } from './messages.js';

/** A chat message (the shape the tokenizer's ChatMessage has; other fields ride along). */
export interface Turn {
  role: string;
  content: string;
  [field: string]: unknown;
}

/** What the caller's retrieval found for a question: the passages in prompt order, best first. */
export interface Retrieved<S> {
  sources: S[];
}

export interface Grounder<S extends { text: string }> {
  retrieve(question: string): Promise<Retrieved<S>>;
  /** the prompt (system with the sources, then the conversation) as an assistant turn would send it; the
   *  sources it kept, numbered from 1. `answerTokens`: the room the answer needs. */
  layout(conversation: readonly Turn[], sources: readonly S[], answerTokens: number): { messages: Turn[]; kept: S[] };
  countTokens(text: string): number;
  /** the room the assistant keeps for a reply: examples are planned with it, or more for a longer answer */
  replyRoom: number;
}

export interface ContextOptions {
  /** share of examples whose right entry is left out (they learn the refusal) */
  refuseShare: number;
  /** what the model says when the sources do not hold the answer */
  refusal: string;
  /** append " [n]" naming the source that holds the answer */
  cite: boolean;
  seed: number;
}

export interface ContextStats {
  examples: number;
  /** examples with retrieved context */
  grounded: number;
  /** the right entry was among the kept sources, and at which place (1-based counts) */
  withAnswer: number;
  at: Record<string, number>;
  /** left without their right entry on purpose, and those whose right entry retrieval did not return */
  refusedByShare: number;
  notRetrieved: number;
  /** kept as they were: not one question and one answer */
  unchanged: number;
  meanSources: number;
}

export const REFUSALS: Record<Lang, string> = {
  ja: '申し訳ございません。お手元の資料には、このご質問へのお答えが見つかりませんでした。',
  en: 'I am sorry, but the documents I have do not answer this question.',
};

const fold = foldForMatch;

/** Whether a source holds the answer (after width, case and spacing are folded). */
export function holdsAnswer(sourceText: string, answer: string): boolean {
  const a = fold(answer);
  return a.length > 0 && fold(sourceText).includes(a);
}

/** A seeded uniform draw per example index (the same examples refuse in every run with this seed). */
function draw(seed: number, i: number): number {
  let x = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return ((x ^ (x >>> 16)) >>> 0) / 2 ** 32;
}

/** One question and one answer (after an optional system message): the examples grounding applies to. */
function singleTurn(messages: readonly Turn[]): { question: string; answer: string; system: Turn[] } | null {
  const system = messages.filter((m) => m.role === 'system');
  const rest = messages.filter((m) => m.role !== 'system');
  if (rest.length !== 2 || rest[0].role !== 'user' || rest[1].role !== 'assistant') return null;
  return { question: rest[0].content, answer: rest[1].content, system };
}

async function groundOne<S extends { text: string }>(messages: Turn[], index: number, g: Grounder<S>, o: ContextOptions, st: ContextStats): Promise<Turn[]> {
  const t = singleTurn(messages);
  if (!t) {
    st.unchanged++;
    return messages;
  }
  const { sources } = await g.retrieve(t.question);
  const refuse = draw(o.seed, index) < o.refuseShare;
  const offered = refuse ? sources.filter((s) => !holdsAnswer(s.text, t.answer)) : sources;
  const conversation = [...t.system, { role: 'user', content: t.question }];
  // plan as the assistant will (its reply room), or with more room when a reply is longer, so the example fits whole
  const room = Math.max(g.replyRoom, Math.max(g.countTokens(t.answer), g.countTokens(o.refusal)) + 8);
  const { messages: prompt, kept } = g.layout(conversation, offered, room);
  const at = kept.findIndex((s) => holdsAnswer(s.text, t.answer));
  st.grounded++;
  st.meanSources += kept.length;
  if (refuse) st.refusedByShare++;
  else if (at < 0) st.notRetrieved++;
  else {
    st.withAnswer++;
    st.at[String(at + 1)] = (st.at[String(at + 1)] ?? 0) + 1;
  }
  const reply = at < 0 ? o.refusal : o.cite ? `${t.answer} [${at + 1}]` : t.answer;
  return [...prompt, { role: 'assistant', content: reply }];
}

function readChat(file: string): Turn[][] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l, i) => {
    const r = JSON.parse(l) as { messages?: Turn[] };
    if (!Array.isArray(r.messages)) {
      throw new ShitateError('E_DATA', `${file}:${i + 1}: --with-context expected chat examples ({"messages": [...]}), found another format`,
        'retrieval-augmented examples are made from question/answer data (a FAQ sheet or chat JSONL)');
    }
    return r.messages;
  });
}

/** Rewrites the prepared files in place of themselves (each atomically) and writes DIR/context.json. */
export async function addContext<S extends { text: string }>(files: readonly string[], g: Grounder<S>, o: ContextOptions): Promise<ContextStats> {
  const st: ContextStats = { examples: 0, grounded: 0, withAnswer: 0, at: {}, refusedByShare: 0, notRetrieved: 0, unchanged: 0, meanSources: 0 };
  let index = 0;
  for (const file of files) {
    const out: string[] = [];
    for (const messages of readChat(file)) {
      st.examples++;
      out.push(JSON.stringify({ messages: await groundOne(messages, index++, g, o, st) }));
    }
    writeFileAtomic(file, out.length ? `${out.join('\n')}\n` : '');
  }
  st.meanSources = st.grounded ? st.meanSources / st.grounded : 0;
  if (files.length) writeFileAtomic(path.join(path.dirname(files[0]), 'context.json'), `${JSON.stringify({ options: o, ...st }, null, 2)}\n`);
  return st;
}
