// What a planned prompt left out, told to people (notes in the terminal chat) and to programs (the `shitate`
// field and the x-shitate-prompt-cut header of a served reply).
import type { PlanReport } from './plan.js';

type Part = 'history' | 'memory' | 'knowledge';

/** The parts of the prompt that lost something, in priority order. */
export function cutParts(r: PlanReport): Part[] {
  const parts: Part[] = [];
  if (r.history.dropped > 0) parts.push('history');
  if (r.memory.limit === 'context') parts.push('memory');
  if (r.knowledge.limit !== null) parts.push('knowledge');
  return parts;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** One line per cut, for the chat: what was left out and why. Empty when everything fit. */
export function describeCuts(r: PlanReport): string[] {
  const ctx = `the model's context of ${r.context} tokens`;
  const out: string[] = [];
  if (r.history.dropped > 0) {
    out.push(`left out the ${plural(r.history.dropped, 'oldest message')} of this conversation to fit ${ctx}; /reset starts afresh`);
  }
  if (r.memory.limit === 'context') out.push(`used ${r.memory.kept} of ${plural(r.memory.kept + r.memory.dropped, 'remembered fact')} to fit ${ctx}`);
  const k = r.knowledge;
  if (k.limit !== null) {
    const why = k.limit === 'context' ? ctx : 'knowledge.budget_tokens';
    const total = k.kept + k.dropped;
    const shortened = k.shortened ? `, ${k.kept === 1 ? 'shortened' : `${k.shortened} shortened`} at sentence ends` : '';
    out.push(k.kept === 0 ? `no passage fits ${why}: answering without knowledge`
      : `used ${k.kept} of ${plural(total, 'retrieved passage')}${shortened}, to fit ${why}`);
  }
  return out;
}

/** The plan as response metadata (snake_case, as the rest of the API). */
export function planInfo(r: PlanReport): Record<string, unknown> {
  return {
    context_tokens: r.context,
    context_source: r.contextSource,
    counted: r.exact ? 'exact' : 'estimated',
    reply_tokens_reserved: r.answerTokens,
    prompt_tokens: r.promptTokens,
    history: { kept_messages: r.history.kept, dropped_messages: r.history.dropped },
    memory: { kept: r.memory.kept, dropped: r.memory.dropped, limited_by: r.memory.limit },
    knowledge: { kept: r.knowledge.kept, dropped: r.knowledge.dropped, shortened: r.knowledge.shortened, limited_by: r.knowledge.limit },
    cut: cutParts(r),
  };
}
