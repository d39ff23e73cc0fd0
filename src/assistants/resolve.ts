// An assistant ready to answer: its profile, its provider, and prepare(), which turns a conversation into
// the messages to send — system prompt with rendered instructions, the user's memory and retrieved sources,
// planned to fit the model's context (plan.ts) — remembering facts the user asks it to. The server calls
// this for `model: NAME`.
import { explicitFact, extractFacts, MemoryStore, type MemoryItem, type UserMemory } from '../memory/index.js';
import { createProvider, resolveKey, type ChatMessage, type GenParams, type Provider } from '../providers/index.js';
import { KnowledgeBase, projectHome, retrieve, type Source } from '../rag/index.js';
import { answerTokens, checkBudgets, profileBudgets } from './budgets.js';
import type { PlanReport } from './plan.js';
import type { Profile } from './profile.js';
import { loadProfile } from './store.js';
import { fitExtraction } from './extract-fit.js';
import { builtinVars, renderTemplate } from './template.js';
import { lastUser, planTurn } from './turn.js';
import { windowFor, type ContextWindow } from './window.js';

export interface ResolveOptions {
  /** the project folder (default: SHITATE_HOME, else ./.shitate) */
  home?: string;
  /** used instead of the provider the profile names (e.g. a server's already loaded model) */
  provider?: Provider;
  /** template variables that override the profile's */
  vars?: Record<string, string>;
  /** the clock for {{ today }} and {{ now }} */
  now?: () => Date;
  /** the model's context and token counts (default: read from the profile's model; a server passes its open model's) */
  window?: ContextWindow;
}

export interface TurnOptions {
  /** whose memory to use; without one, memory is neither read nor written */
  userId?: string;
  signal?: AbortSignal;
  /** the reply's room this turn (a request's max_tokens); default the profile's generation.max_tokens */
  maxTokens?: number;
  /** chat template variables the prompt will be rendered with, over the model's own (a request's chat_template_kwargs) */
  templateVars?: Record<string, unknown>;
}

export interface PreparedTurn {
  /** what to send to the provider: the system prompt, then the conversation */
  messages: ChatMessage[];
  sources: Source[];
  /** the facts included in the prompt */
  memories: MemoryItem[];
  /** a fact stored because the last message asked for it */
  remembered: MemoryItem | null;
  /** problems that did not stop the turn (e.g. the embeddings endpoint failed: lexical search was used) */
  warnings: string[];
  /** how the prompt fits the context, and what was left out */
  plan: PlanReport;
}

export interface ResolvedAssistant {
  readonly id: string;
  readonly profile: Profile;
  readonly provider: Provider;
  /** the profile's generation settings (a request's own settings go on top) */
  readonly params: GenParams;
  /** the model's context and how its tokens are counted */
  readonly window: ContextWindow;
  prepare(conversation: readonly ChatMessage[], o?: TurnOptions): Promise<PreparedTurn>;
  /** after a reply: with memory.auto, asks the model which facts of the last user message to keep */
  afterReply(conversation: readonly ChatMessage[], o?: TurnOptions): Promise<MemoryItem[]>;
  /** the user's memory as this assistant sees it (null when memory is off) */
  memoryFor(userId: string): UserMemory | null;
  close(): void;
}

/** What one turn needs from a resolved assistant. */
interface Parts {
  profile: Profile;
  provider: Provider;
  window: ContextWindow;
  kbs: KnowledgeBase[];
  instructions: (user: string) => string;
  memoryFor: (userId: string) => UserMemory | null;
}

async function prepareTurn(x: Parts, conversation: readonly ChatMessage[], t: TurnOptions): Promise<PreparedTurn> {
  const { profile } = x;
  const window = t.templateVars ? x.window.withTemplateVars(t.templateVars) : x.window;
  const query = lastUser(conversation);
  const warnings: string[] = [];
  const mem = t.userId ? x.memoryFor(t.userId) : null;
  const fact = mem ? explicitFact(query) : null;
  const remembered = fact && mem ? mem.add(fact, 'user') : null;
  // retrieval only ranks here (no budget, nothing counted): the plan fits the passages to the context
  const ranked = await retrieve(x.kbs, query, {
    k: profile.knowledge.topK, mode: profile.knowledge.mode, wholeMaxChars: profile.knowledge.wholeMaxChars,
    budgetTokens: Number.MAX_SAFE_INTEGER, countTokens: () => 0, onWarning: (w) => warnings.push(w),
  });
  const plan = planTurn({
    profile, window, instructions: x.instructions(t.userId ?? ''), answer: answerTokens(profile, window, t.maxTokens), conversation,
    passages: ranked.map(({ n: _n, ...p }) => p), memories: mem ? mem.list() : [],
  });
  return { messages: plan.messages, sources: plan.sources, memories: plan.memories, remembered, warnings, plan: plan.report };
}

function openBases(home: string, names: readonly string[]): KnowledgeBase[] {
  const kbs: KnowledgeBase[] = [];
  try {
    for (const b of names) kbs.push(KnowledgeBase.open(home, b, { create: false }));
  } catch (e) {
    for (const kb of kbs) kb.close();
    throw e;
  }
  return kbs;
}

export function resolveAssistant(id: string, o: ResolveOptions = {}): ResolvedAssistant {
  const home = o.home ?? projectHome();
  const profile = loadProfile(home, id);
  if (!o.provider) resolveKey(profile.provider); // a missing API key fails here, before any conversation
  const provider = o.provider ?? createProvider(profile.provider);
  const clock = o.now ?? (() => new Date());
  const instructions = (user: string) => {
    const vars = { ...builtinVars(clock(), profile.language, profile.name, user), ...profile.variables, ...o.vars };
    return renderTemplate(profile.instructions, vars, `assistant ${id}: instructions`);
  };
  const window = o.window ?? windowFor(profile.provider, profile.contextTokens);
  // a broken template, or a system prompt that leaves no room on this model, fails now, not at the first message
  checkBudgets(id, profileBudgets(profile, window, instructions('')));
  const kbs = openBases(home, profile.knowledge.bases);
  const memory = profile.memory.enabled ? MemoryStore.open(home) : null;
  const memoryFor = (userId: string) => (memory ? memory.forUser(userId, id) : null);
  const parts: Parts = { profile, provider, window, kbs, instructions, memoryFor };

  return {
    id, profile, provider, params: profile.generation, window, memoryFor,
    prepare: (conversation, t = {}) => prepareTurn(parts, conversation, t),
    async afterReply(conversation, t = {}) {
      const mem = t.userId && profile.memory.auto ? memoryFor(t.userId) : null;
      const message = lastUser(conversation);
      if (!mem || !message || explicitFact(message)) return [];
      const fitted = fitExtraction(window, message, mem.list().map((m) => m.text));
      if (!fitted) return [];
      const facts = await extractFacts(provider, fitted.message, fitted.known, t.signal);
      return facts.map((f) => mem.add(f, 'auto')).filter((m): m is MemoryItem => m !== null);
    },
    close() {
      for (const kb of kbs) kb.close();
      memory?.close();
    },
  };
}
