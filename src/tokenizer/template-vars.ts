// Chat template variables (transformers' apply_chat_template(**kwargs), vLLM's chat_template_kwargs):
// parsing them from a flag or a config value, and the ones training renders with by default. A template with
// a thinking switch (Qwen3's enable_thinking) trains with thinking off unless told otherwise, and says so;
// the adapter keeps them (shitate.json) so chat, generate, eval and serve render its prompts the same way.
import { ShitateError } from '../errors.js';
import type { Tokenizer } from './types.js';

export type TemplateVars = Record<string, unknown>;

/** A JSON object given as text (a flag, an environment variable, a config value); '' and null give {}. */
export function parseTemplateVars(raw: string | null | undefined, where: string): TemplateVars {
  if (raw === undefined || raw === null || raw.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new ShitateError('E_USAGE', `${where}: expected a JSON object of template variables, found invalid JSON (${(e as Error).message})`,
      'e.g. \'{"enable_thinking": false}\' (quote it for the shell)');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ShitateError('E_USAGE', `${where}: expected a JSON object of template variables, found ${Array.isArray(v) ? 'a list' : JSON.stringify(v)}`,
      'e.g. \'{"enable_thinking": false}\'');
  }
  return v as TemplateVars;
}

/** True when the template has Qwen3's thinking switch. */
export function hasThinkingSwitch(tok: Tokenizer): boolean {
  return tok.chatTemplate?.includes('enable_thinking') ?? false;
}

export interface TrainingVars {
  vars: TemplateVars;
  /** a line for the user when a default was chosen for them */
  note: string | null;
}

/** The variables training renders with: the user's, plus enable_thinking=false for a template with a
 *  thinking switch when the user did not set it. */
export function trainingTemplateVars(tok: Tokenizer, user: TemplateVars): TrainingVars {
  if (!hasThinkingSwitch(tok) || 'enable_thinking' in user) return { vars: user, note: null };
  return {
    vars: { ...user, enable_thinking: false },
    note: 'this chat template has a thinking mode: training renders it with enable_thinking=false (the default; chat, eval and ' +
      'serve use the same with this adapter). Answers that carry reasoning (reasoning_content or a <think> block) are trained with it. ' +
      'For thinking mode set chat_template_kwargs: {"enable_thinking": true}.',
  };
}
