// The chat template variables of an evaluation: the ones the config sets, else the ones the adapters were
// trained with (all of them the same), so base and tuned answer prompts rendered as training rendered them.
import { ShitateError } from '../errors.js';
import { adapterTemplateVars } from '../generate/open.js';
import { parseTemplateVars, type TemplateVars } from '../tokenizer/index.js';

export function evalTemplateVars(kwargs: string | null, adapters: readonly string[]): TemplateVars {
  if (kwargs !== null) return parseTemplateVars(kwargs, 'chat_template_kwargs');
  const seen = adapters.map((dir) => ({ dir, vars: adapterTemplateVars(dir) ?? {} }));
  const distinct = [...new Set(seen.map((s) => JSON.stringify(s.vars)))];
  if (distinct.length > 1) {
    throw new ShitateError('E_CONFIG', `chat template variables: expected the adapters to be trained with the same ones, found ${seen.map((s) => `${s.dir}: ${JSON.stringify(s.vars)}`).join('; ')}`,
      'set chat_template_kwargs (--chat-template-kwargs) to compare them under one rendering');
  }
  return seen[0]?.vars ?? {};
}
