// The one function that lays out an assistant turn: the profile's head (instructions, tone, language), the
// user's facts, the retrieved sources as the numbered knowledge section, then the conversation, planned
// against the model's context. Assistants call it every turn; retrieval-augmented training examples and
// evaluation call it too, so a model tuned on grounded examples sees at inference the layout it learned.
import type { MemoryItem } from '../memory/index.js';
import type { ChatMessage } from '../providers/index.js';
import { planPrompt, type Passage, type PromptPlan } from './plan.js';
import type { Profile } from './profile.js';
import { knowledgeHeading, knowledgeSection, memoryHeading, memorySection, promptHead } from './prompt.js';
import type { ContextWindow } from './window.js';

export interface TurnInput {
  profile: Profile;
  window: ContextWindow;
  /** the profile's instructions, rendered */
  instructions: string;
  /** tokens kept free for the reply */
  answer: number;
  /** the conversation; its system messages follow the profile's sections */
  conversation: readonly ChatMessage[];
  /** retrieved passages, best first */
  passages: readonly Passage[];
  memories?: readonly MemoryItem[];
}

export const lastUser = (c: readonly ChatMessage[]): string => [...c].reverse().find((m) => m.role === 'user')?.content ?? '';

export function planTurn(x: TurnInput): PromptPlan {
  const { profile, conversation } = x;
  return planPrompt({
    window: x.window, answer: x.answer,
    head: promptHead(profile, x.instructions),
    // a client's own system messages follow the profile's, in the one system message templates expect first
    tail: conversation.filter((m) => m.role === 'system').map((m) => m.content).filter(Boolean).join('\n\n'),
    memoryHeading: memoryHeading(profile), memorySection: (lines) => memorySection(profile, lines),
    knowledgeHeading: knowledgeHeading(profile), knowledgeSection: (sources) => knowledgeSection(profile, sources),
    turns: conversation.filter((m) => m.role !== 'system'), query: lastUser(conversation),
    memories: x.memories ?? [], memoryBudget: profile.memory.budgetTokens,
    passages: x.passages, knowledgeBudget: profile.knowledge.budgetTokens,
  });
}
