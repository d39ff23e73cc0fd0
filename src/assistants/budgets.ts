// An assistant's effective budgets on its model: the reply's room, the system prompt as the chat template
// renders it, and what is left each turn for the message, earlier messages, memory and knowledge. A profile
// whose fixed parts leave no room for a message is refused with the numbers.
import { ShitateError } from '../errors.js';
import type { Profile } from './profile.js';
import { promptHead } from './prompt.js';
import type { ContextWindow } from './window.js';

/** The least a turn must leave for the user's message; a short question takes about this many tokens. */
export const MIN_TURN_TOKENS = 32;

export interface Budgets {
  window: ContextWindow;
  answer: number;
  /** true when generation.max_tokens set the reply's room */
  answerFromProfile: boolean;
  /** the system prompt's head rendered with the template, with an empty user message (the template's own tokens included) */
  system: number;
  /** what each turn has for the message, earlier messages, memory and knowledge */
  perTurn: number;
  /** the most memory and knowledge can take (0 when off) */
  memory: number;
  knowledge: number;
}

/** The reply's room: the request's max_tokens, else the profile's, else the model's default. */
export function answerTokens(p: Profile, w: ContextWindow, requested?: number): number {
  return requested ?? p.generation.maxTokens ?? w.defaultAnswer;
}

export function profileBudgets(p: Profile, w: ContextWindow, instructions: string): Budgets {
  const head = promptHead(p, instructions);
  const system = w.countChat(w.shape([...(head ? [{ role: 'system', content: head }] : []), { role: 'user', content: '' }]));
  const answer = answerTokens(p, w);
  const perTurn = w.tokens - answer - system;
  const room = Math.max(0, perTurn);
  return {
    window: w, answer, answerFromProfile: p.generation.maxTokens !== undefined, system, perTurn,
    memory: p.memory.enabled ? Math.min(p.memory.budgetTokens, room) : 0,
    knowledge: p.knowledge.bases.length ? Math.min(p.knowledge.budgetTokens, room) : 0,
  };
}

/** Throws when the reply and the system prompt leave less than MIN_TURN_TOKENS for a message. */
export function checkBudgets(id: string, b: Budgets): void {
  if (b.perTurn >= MIN_TURN_TOKENS) return;
  const w = b.window;
  throw new ShitateError('E_CONTEXT', `assistant "${id}": the reply keeps ${b.answer} tokens and the system prompt takes ${b.system}: ` +
    `${b.answer + b.system} before any message; expected at most ${w.tokens - MIN_TURN_TOKENS}, so that the model's context of ${w.tokens} ` +
    `(${w.source}) keeps ${MIN_TURN_TOKENS} for a message`,
  `shorten the instructions${b.answerFromProfile ? ` or lower generation.max_tokens (at most ${Math.max(1, w.tokens - b.system - MIN_TURN_TOKENS)} fits)` : ''}, ` +
    'or choose a model with a longer context');
}

const row = (label: string, n: number, why: string): string => `  ${label.padEnd(14)}${String(n).padStart(8)}  ${why}`;

/** The budgets as lines for `assistant new` and `assistant show`. */
export function formatBudgets(p: Profile, b: Budgets): string {
  const w = b.window;
  const counted = w.exact ? 'counted with its tokenizer and chat template' : 'estimated: its tokenizer is not at hand';
  const lines = [
    `budgets on ${p.provider.kind} model ${p.provider.model}: context ${w.tokens} tokens (${w.source}), ${counted}`,
    row('reply', b.answer, b.answerFromProfile ? 'generation.max_tokens' : 'generation.max_tokens unset: the model\'s default, at most a quarter of the context'),
    row('system prompt', b.system, 'instructions, tone and language, with the chat template\'s own tokens'),
    row('each turn', Math.max(0, b.perTurn), 'the message first, then as many earlier messages, facts and passages as fit, in that order'),
  ];
  if (w.systemRole !== 'native') lines.push(`  this chat template has no system role: the system prompt goes at the start of the first user message`);
  if (p.memory.enabled) lines.push(row('memory', b.memory, `at most (memory.budget_tokens ${p.memory.budgetTokens})`));
  if (p.knowledge.bases.length) {
    const capped = b.knowledge < p.knowledge.budgetTokens ? `; knowledge.budget_tokens ${p.knowledge.budgetTokens} does not fit` : '';
    lines.push(row('knowledge', b.knowledge, `at most, top ${p.knowledge.topK} passages, shortened at sentence ends to fit${capped}`));
  }
  return lines.join('\n');
}
