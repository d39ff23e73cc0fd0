// Conversation shaping for APIs that take the system prompt apart from the turns and want the turns to
// alternate user/assistant (Anthropic's Messages API, Gemini's generateContent).
import type { ChatMessage } from './types.js';

export interface Turns {
  /** every system message, joined ('' when none) */
  system: string;
  /** user/assistant turns, consecutive turns of one role merged */
  turns: { role: 'user' | 'assistant'; content: string }[];
}

export function splitTurns(messages: readonly ChatMessage[]): Turns {
  const system: string[] = [];
  const turns: Turns['turns'] = [];
  for (const m of messages) {
    if (m.role === 'system' || m.role === 'developer') {
      system.push(m.content);
      continue;
    }
    const role = m.role === 'assistant' ? 'assistant' : 'user';
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.content += `\n\n${m.content}`;
    else turns.push({ role, content: m.content });
  }
  return { system: system.join('\n\n'), turns };
}
