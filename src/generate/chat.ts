// Chat prompts for generation, rendered exactly as training renders them: the tokenizer's own template
// (or the documented fallback) with the assistant turn opened.
import type { ChatMessage, Tokenizer } from '../tokenizer/index.js';

/** Token ids of the conversation followed by the opening of the assistant's reply. */
export function chatPrompt(tok: Tokenizer, messages: readonly ChatMessage[], templateVars?: Record<string, unknown>): number[] {
  return tok.encodeChat(messages, templateVars ? { addGenerationPrompt: true, templateVars } : { addGenerationPrompt: true });
}
