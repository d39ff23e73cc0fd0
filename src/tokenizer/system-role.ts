// Whether a chat template has a system role. Some refuse a system message (Gemma 1/2: "System role not
// supported"; Mistral v0.1), others would drop it without a word. Chat folds the system prompt into the
// first user message, as Gemma-3's own template does; training refuses such data with file and line.
import { ShitateError } from '../errors.js';
import type { ChatMessage, Tokenizer } from './types.js';

export type SystemSupport = 'native' | 'refused' | 'dropped';

/** Renders a probe conversation with a system message and looks for it. */
export function systemSupport(tok: Tokenizer, templateVars?: Record<string, unknown>): SystemSupport {
  const probe = 'SHITATESYSTEMPROBE';
  let text: string;
  try {
    text = tok.renderChat([{ role: 'system', content: probe }, { role: 'user', content: 'q' }],
      templateVars ? { addGenerationPrompt: true, templateVars } : { addGenerationPrompt: true });
  } catch {
    return 'refused';
  }
  return text.includes(probe) ? 'native' : 'dropped';
}

/** The system messages folded into the first user message ("{system}\n\n{question}"), Gemma-3's convention. */
export function foldSystem(messages: readonly ChatMessage[]): ChatMessage[] {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
  const rest = messages.filter((m) => m.role !== 'system').map((m) => ({ ...m }));
  const first = rest.find((m) => m.role === 'user');
  if (system && first) first.content = `${system}\n\n${first.content}`;
  return rest;
}

/** Explains a template's refusal of a conversation with a system message when the system role is the
 *  cause; otherwise returns the error as it was. `where` is "file:line". */
export function explainRefusal(tok: Tokenizer, messages: readonly ChatMessage[], err: ShitateError, where: string,
  templateVars?: Record<string, unknown>): ShitateError {
  const i = messages.findIndex((m) => m.role === 'system');
  if (i >= 0 && systemSupport(tok, templateVars) !== 'native') {
    return new ShitateError('E_TEMPLATE', `${where}: message ${i + 1} is a system message; expected a role this model's chat template accepts, ` +
      `found that it has no system role (${err.message.replace(/^.*refuses: /, '')})`,
      'leave system messages out of this model\'s data, or put the system prompt at the start of the first user message, ' +
      'followed by a blank line (what Gemma-3\'s template does itself)');
  }
  return new ShitateError(err.code, `${where}: ${err.message}`, err.hint);
}
