// Adapters of multimodal models (Gemma 3, Gemma 4) as the language model sees them: PEFT names modules by the
// model's module paths, so an adapter trained under transformers 4.50's layout says "language_model.model.layers..."
// where today's is "model.language_model.layers...", and LoRA on "all-linear" or on q_proj/v_proj also lands in the
// vision tower, which text generation never runs. Module names are rewritten with the family's renames; vision and
// audio tower factors are left out, with a warning.
import { currentName, findFamily, type CausalLM } from '../models/index.js';
import type { HasLinears } from './attach.js';

function isCausalLM(m: HasLinears): m is HasLinears & Pick<CausalLM, 'config'> {
  return 'config' in m;
}

/** The factors by today's module names, without those of the model's non-language parts. */
export function languageModelFactors<F>(factors: Map<string, F>, model: HasLinears, warn: (m: string) => void): Map<string, F> {
  const family = isCausalLM(model) ? findFamily(model.config.modelType) : null;
  if (!family || !isCausalLM(model)) return factors;
  const others = family.carriedTensors?.(model.config) ?? [];
  const out = new Map<string, F>();
  const dropped: string[] = [];
  for (const [name, f] of factors) {
    const now = currentName(name, family.renames);
    if (others.some((re) => re.test(`${now}.weight`))) dropped.push(now);
    else out.set(now, f);
  }
  if (dropped.length > 0) {
    warn(`the adapter also has LoRA on ${dropped.length} module(s) outside the language model (${dropped.slice(0, 2).join(', ')}${dropped.length > 2 ? ', ...' : ''}); text generation does not use them, and merged folders keep those parts without their LoRA`);
  }
  return out;
}
