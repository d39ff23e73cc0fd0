// The prompt of one assistant turn, planned against the model's real context. Priority: room for the reply
// first, then the system prompt, then the latest user message (these three must fit, or the turn is refused
// with the numbers), then earlier messages (newest first), remembered facts and retrieved knowledge, in that
// order. So that a long conversation cannot crowd knowledge out entirely, the best-ranked passage keeps up to
// half of what is left and the most related fact an eighth; passages are shortened at sentence boundaries and
// lower-ranked ones dropped. Counts are the model's own (tokenizer and rendered chat template), and the final
// prompt is counted whole and trimmed until it fits.
import { assert, ShitateError } from '../errors.js';
import { selectMemories, type MemoryItem } from '../memory/index.js';
import type { ChatMessage } from '../providers/index.js';
import type { Source } from '../rag/index.js';
import { fitText } from './sentences.js';
import type { ContextWindow } from './window.js';

export type Passage = Omit<Source, 'n'>;

export interface PlanInput {
  window: ContextWindow;
  /** tokens kept free for the reply */
  answer: number;
  /** the system prompt's fixed head (instructions, tone, language) */
  head: string;
  /** a client's own system messages, after the assistant's sections */
  tail: string;
  memoryHeading: string;
  memorySection(lines: string): string;
  knowledgeHeading: string;
  knowledgeSection(sources: readonly Source[]): string;
  /** the conversation without its system messages */
  turns: readonly ChatMessage[];
  query: string;
  /** the user's facts (none without memory) and the most the profile lets them take */
  memories: readonly MemoryItem[];
  memoryBudget: number;
  /** retrieved passages, best first, and the most the profile lets them take */
  passages: readonly Passage[];
  knowledgeBudget: number;
}

/** What made it into the prompt and what was left out, for notes and response metadata. */
export interface PlanReport {
  context: number;
  contextSource: string;
  /** counts come from the model's tokenizer and template (false: estimated for a hosted API) */
  exact: boolean;
  answerTokens: number;
  promptTokens: number;
  /** earlier messages (the latest user message is always in) */
  history: { kept: number; dropped: number };
  /** limit: what capped memory, when a fact was left out */
  memory: { kept: number; dropped: number; limit: 'context' | 'budget' | null };
  /** shortened: passages cut at sentence boundaries; limit: what capped knowledge, when something was left out */
  knowledge: { kept: number; dropped: number; shortened: number; limit: 'context' | 'budget' | null };
}

export interface PromptPlan {
  messages: ChatMessage[];
  sources: Source[];
  memories: MemoryItem[];
  report: PlanReport;
}

/** A shortened passage below this many tokens says too little to be worth its citation. */
const MIN_CUT_TOKENS = 24;

interface Knowledge {
  sources: Source[];
  /** with the heading */
  tokens: number;
  shortened: number;
  /** the context's room, not knowledge.budget_tokens, was the limit */
  byContext: boolean;
}

interface Memory {
  items: MemoryItem[];
  text: string;
  tokens: number;
  byContext: boolean;
}

/** Passages within `room` tokens of the context, their heading included; the profile's budget_tokens
 *  limits the passages themselves. */
function fitKnowledge(x: PlanInput, room: number, passages: readonly Passage[]): Knowledge {
  const count = x.window.countText;
  const heading = count(`\n\n${x.knowledgeHeading}`);
  const byContext = room - heading < x.knowledgeBudget;
  const none: Knowledge = { sources: [], tokens: 0, shortened: 0, byContext };
  const budget = Math.min(room - heading, x.knowledgeBudget);
  let left = budget;
  const sources: Source[] = [];
  let shortened = 0;
  for (const p of passages) {
    const n = sources.length + 1;
    const label = `\n\n[${n}] ${p.cite}\n`;
    const room = left - count(label);
    const text = room > 0 ? fitText(p.text, x.query, room, count) : null;
    if (text === null || (text !== p.text && room < MIN_CUT_TOKENS)) break;
    sources.push({ ...p, n, text });
    left -= count(label + text);
    if (text !== p.text) {
      shortened++;
      break; // the rest rank lower than a passage that did not fit whole
    }
  }
  return sources.length ? { sources, tokens: heading + budget - left, shortened, byContext } : none;
}

/** Facts within `room` tokens, their heading included; memory.budget_tokens limits the facts themselves. */
function fitMemory(x: PlanInput, room: number): Memory {
  const heading = x.window.countText(`\n\n${x.memoryHeading}\n`);
  const byContext = room - heading < x.memoryBudget;
  const none: Memory = { items: [], text: '', tokens: 0, byContext };
  if (x.memories.length === 0 || room <= heading) return none;
  const s = selectMemories(x.memories, x.query, Math.min(room - heading, x.memoryBudget), x.window.countText);
  return s.items.length ? { items: s.items, text: s.text, tokens: s.tokens + heading, byContext } : none;
}

/** Earlier messages as exchanges, each starting at a user message, so trimming never leaves a reply
 *  without its question (many chat templates refuse a conversation that does not alternate). */
function exchanges(earlier: readonly ChatMessage[]): ChatMessage[][] {
  const out: ChatMessage[][] = [];
  for (const m of earlier) {
    if (m.role === 'user' || out.length === 0) out.push([m]);
    else out[out.length - 1].push(m);
  }
  return out;
}

function refuse(x: PlanInput, systemOnly: number, fixed: number): never {
  const w = x.window;
  const what = `model's context of ${w.tokens} tokens (${w.source})`;
  if (systemOnly + x.answer >= w.tokens) {
    throw new ShitateError('E_CONTEXT', `the system prompt is ${systemOnly} tokens and the reply keeps ${x.answer}: ` +
      `${systemOnly + x.answer} in all; expected less than the ${what}`,
    'shorten the instructions (or a client\'s system message), or keep less room for the reply (max_tokens, or generation.max_tokens in the profile)');
  }
  throw new ShitateError('E_CONTEXT', `the message needs ${fixed - systemOnly} tokens, with the system prompt's ${systemOnly} and the reply's ` +
    `${x.answer}: ${fixed + x.answer} in all; expected at most the ${what}`,
  'shorten the message, or keep less room for the reply (max_tokens, or generation.max_tokens in the profile)');
}

export function planPrompt(x: PlanInput): PromptPlan {
  const w = x.window;
  const lastUser = x.turns.map((m) => m.role).lastIndexOf('user');
  const latest = lastUser < 0 ? [...x.turns] : x.turns.slice(lastUser);
  const groups = exchanges(lastUser < 0 ? [] : x.turns.slice(0, lastUser));
  const system = (facts: string, sources: readonly Source[]): string =>
    [x.head, x.memorySection(facts), x.knowledgeSection(sources), x.tail].filter(Boolean).join('\n\n');
  const render = (sys: string, keep: number): ChatMessage[] =>
    w.shape([...(sys ? [{ role: 'system', content: sys }] : []), ...groups.slice(groups.length - keep).flat(), ...latest]);
  const empty = system('', []);
  const fixed = w.countChat(render(empty, 0));
  if (fixed + x.answer > w.tokens) refuse(x, w.countChat(w.shape([...(empty ? [{ role: 'system', content: empty }] : []), { role: 'user', content: '' }])), fixed);
  const room = w.tokens - x.answer - fixed;

  const kbFloor = x.passages.length ? fitKnowledge(x, Math.floor(room / 2), x.passages.slice(0, 1)).tokens : 0;
  const memFloor = fitMemory(x, Math.floor(room / 8)).tokens;
  // the newest exchanges that fit, by halving on the exact count of the rendered conversation
  const historyCost = (k: number): number => w.countChat(render(empty, k)) - fixed;
  let keep = 0;
  for (let lo = 0, hi = groups.length; lo < hi;) {
    const mid = Math.ceil((lo + hi) / 2);
    if (historyCost(mid) <= room - kbFloor - memFloor) lo = keep = mid;
    else hi = mid - 1;
  }
  let left = room - historyCost(keep);
  let mem = fitMemory(x, left - kbFloor);
  left -= mem.tokens;
  let kb = fitKnowledge(x, left, x.passages);

  // pieces counted apart need not add up to the whole: count the prompt itself and shed until it fits
  for (;;) {
    const total = w.countChat(render(system(mem.text, kb.sources), keep));
    const excess = total + x.answer - w.tokens;
    if (excess <= 0) return finish(x, { messages: render(system(mem.text, kb.sources), keep), mem, kb, keep, groups, total });
    if (kb.tokens > 0) kb = { ...fitKnowledge(x, kb.tokens - excess, x.passages), byContext: true };
    else if (mem.tokens > 0) mem = { ...fitMemory(x, mem.tokens - excess), byContext: true };
    else if (keep > 0) keep--;
    else assert(false, `prompt plan: the fixed parts were checked to fit, yet ${total} + ${x.answer} > ${w.tokens}`);
  }
}

interface Chosen {
  messages: ChatMessage[];
  mem: Memory;
  kb: Knowledge;
  keep: number;
  groups: ChatMessage[][];
  total: number;
}

function finish(x: PlanInput, c: Chosen): PromptPlan {
  const keptMessages = c.groups.slice(c.groups.length - c.keep).flat().length;
  const allMessages = c.groups.flat().length;
  const dropped = x.passages.length - c.kb.sources.length;
  const cut = dropped > 0 || c.kb.shortened > 0;
  const memDropped = x.memories.length - c.mem.items.length;
  const report: PlanReport = {
    context: x.window.tokens, contextSource: x.window.source, exact: x.window.exact, answerTokens: x.answer, promptTokens: c.total,
    history: { kept: keptMessages, dropped: allMessages - keptMessages },
    memory: { kept: c.mem.items.length, dropped: memDropped, limit: memDropped === 0 ? null : c.mem.byContext ? 'context' : 'budget' },
    knowledge: { kept: c.kb.sources.length, dropped, shortened: c.kb.shortened, limit: !cut ? null : c.kb.byContext ? 'context' : 'budget' },
  };
  return { messages: c.messages, sources: c.kb.sources, memories: c.mem.items, report };
}
