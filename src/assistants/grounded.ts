// Grounded questions outside a chat: the retrieval and the prompt an assistant with these knowledge bases
// would use for one question (retrieve() ranks, planTurn() lays out), so retrieval-augmented training
// examples and evaluation with retrieval see exactly what the assistant will send.
import { holdsAnswer, type Grounder } from '../data/with-context.js';
import { groundItems, runGroundedEval, type GroundedQuestion } from '../eval/grounded.js';
import type { EvalHooks, EvalInput, EvalReport } from '../eval/index.js';
import type { ChatMessage } from '../providers/index.js';
import { retrieve, type KnowledgeBase, type QueryRewriter, type Source } from '../rag/index.js';
import { answerTokens } from './budgets.js';
import type { Passage } from './plan.js';
import { DEFAULT_INSTRUCTIONS, KNOWLEDGE_DEFAULTS, MEMORY_DEFAULTS, type Profile } from './profile.js';
import { planTurn } from './turn.js';
import type { ContextWindow } from './window.js';

export interface GroundingOptions {
  /** knowledge base names, language of the prompt's words, instructions as the assistant will have them
   *  (default: those `assistant new` gives) */
  bases: string[];
  language: string;
  instructions?: string;
  topK?: number;
  /** generation.max_tokens of the assistant (default: the model's reply room) */
  maxTokens?: number;
  /** knowledge.quote: source-anchored decoding strength (default 0: off) */
  quote?: number;
}

/** The profile of an assistant that answers from these knowledge bases with a local model. */
export function groundingProfile(model: string, o: GroundingOptions): Profile {
  return {
    id: 'grounded', name: 'grounded', description: '', instructions: o.instructions ?? DEFAULT_INSTRUCTIONS, tone: '', language: o.language, starters: [],
    provider: { kind: 'local', model }, generation: o.maxTokens ? { maxTokens: o.maxTokens } : {},
    knowledge: { ...KNOWLEDGE_DEFAULTS, bases: o.bases, topK: o.topK ?? KNOWLEDGE_DEFAULTS.topK, quote: o.quote ?? KNOWLEDGE_DEFAULTS.quote }, memory: { ...MEMORY_DEFAULTS }, variables: {},
  };
}

export interface Grounding {
  profile: Profile;
  window: ContextWindow;
  kbs: readonly KnowledgeBase[];
  rewriter?: QueryRewriter | null;
  onWarning?: (message: string) => void;
}

/** The passages an assistant retrieves for a question, best first (not yet fitted to the context). */
export async function groundingSources(g: Grounding, question: string): Promise<Passage[]> {
  const k = g.profile.knowledge;
  const ranked = await retrieve(g.kbs, question, {
    k: k.topK, mode: k.mode, wholeMaxChars: k.wholeMaxChars, budgetTokens: Number.MAX_SAFE_INTEGER, countTokens: () => 0,
    ...(g.rewriter ? { rewriter: g.rewriter } : {}), ...(g.onWarning ? { onWarning: g.onWarning } : {}),
  });
  return ranked.map(({ n: _n, ...p }) => p);
}

/** The prompt for a question with these passages, and the sources it kept (numbered as the prompt numbers them).
 *  `answer`: the reply's room (default: the assistant's). */
export function groundedPrompt(g: Grounding, conversation: readonly ChatMessage[], passages: readonly Passage[], answer?: number): { messages: ChatMessage[]; sources: Source[] } {
  const plan = planTurn({
    profile: g.profile, window: g.window, instructions: g.profile.instructions, conversation, passages,
    answer: answer ?? answerTokens(g.profile, g.window),
  });
  return { messages: plan.messages, sources: plan.sources };
}

/** Retrieval and layout for retrieval-augmented training examples (`data prepare --with-context`, the demo):
 *  each question gets what this grounding retrieves, laid out as the assistant lays out a turn. */
export function contextGrounder(g: Grounding): Grounder<Passage> {
  return {
    retrieve: async (question) => ({ sources: await groundingSources(g, question) }),
    layout: (conversation, sources, answer) => {
      const r = groundedPrompt(g, conversation, sources, answer);
      return { messages: r.messages, kept: r.sources };
    },
    countTokens: g.window.countText,
    replyRoom: answerTokens(g.profile, g.window),
  };
}

/** Whether any passage of the knowledge bases holds a reference answer (such a question can be recalled). */
export function answerableIn(kbs: readonly KnowledgeBase[]): (reference: string) => boolean {
  const texts = kbs.flatMap((kb) => (kb.db.prepare('SELECT text FROM chunks').all() as { text: string }[]).map((r) => r.text));
  return (reference) => texts.some((t) => holdsAnswer(t, reference));
}

/** What of each source in a prompt a reply may quote, best first: a FAQ entry's answer where the prompt holds
 *  it whole, else the passage as the prompt holds it. */
export function quotable(sources: readonly Pick<Source, 'text' | 'quote'>[]): string[] {
  return sources.map((s) => (s.quote && s.text.includes(s.quote) ? s.quote : s.text));
}

/** The profile's quoting strength as it applies: knowledge.quote for a local model, 0 for a hosted one. */
export function quoteStrength(profile: Profile): number {
  return profile.provider.kind === 'local' ? profile.knowledge.quote : 0;
}

/** What a local model's reply to a turn with these sources may quote, and how strongly (null: quoting off). */
export function quoteOf(profile: Profile, sources: readonly Pick<Source, 'text' | 'quote'>[]): { texts: string[]; strength: number } | null {
  const strength = quoteStrength(profile);
  return strength > 0 && sources.length > 0 ? { texts: quotable(sources), strength } : null;
}

/** One evaluation question grounded as the assistant would ground it, with where its right passage ranked. */
export async function groundQuestion(g: Grounding, conversation: readonly ChatMessage[], reference: string, answerable: boolean): Promise<GroundedQuestion> {
  const question = [...conversation].reverse().find((m) => m.role === 'user')?.content ?? '';
  const passages = await groundingSources(g, question);
  const at = passages.findIndex((p) => holdsAnswer(p.text, reference));
  const { messages, sources } = groundedPrompt(g, conversation, passages);
  return {
    messages, rank: at < 0 ? null : at + 1, prompt: sources.map((x) => x.cite),
    promptHasAnswer: sources.some((x) => holdsAnswer(x.text, reference)), answerable, quote: quotable(sources),
  };
}

/** Base and adapters on the items as they are and with this grounding: one report with retrieval recall. */
export async function evalWithKnowledge(input: Omit<EvalInput, 'suffix' | 'scoreText'>, g: Grounding, hooks: EvalHooks = {}): Promise<EvalReport> {
  const answerable = answerableIn(g.kbs);
  const ground = (it: (typeof input.items)[number]) =>
    groundQuestion(g, it.messages ?? [{ role: 'user', content: it.question }], it.reference, answerable(it.reference));
  const { items, retrieval } = await groundItems(input.items, ground, g.profile.knowledge.topK, g.profile.knowledge.bases);
  return runGroundedEval({ ...input, groundedItems: items, retrieval }, hooks);
}
