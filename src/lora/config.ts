// LoRA hyper-parameters as PEFT's LoraConfig names them, and the scaling rule (alpha/r, or alpha/sqrt(r)
// with rsLoRA). Parsed from and written to adapter_config.json.
import { ShitateError } from '../errors.js';

export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  /** module names (suffixes such as "q_proj") or "all-linear" */
  targetModules: string[] | 'all-linear';
  useRslora: boolean;
  /** PEFT's rank_pattern / alpha_pattern: per-module r and alpha, keys matched as moduleLora does */
  rankPattern?: Record<string, number>;
  alphaPattern?: Record<string, number>;
}

export const DEFAULT_LORA: LoraConfig = {
  r: 8,
  alpha: 16,
  dropout: 0.05,
  targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  useRslora: false,
};

export function loraScaling(c: Pick<LoraConfig, 'r' | 'alpha' | 'useRslora'>): number {
  return c.useRslora ? c.alpha / Math.sqrt(c.r) : c.alpha / c.r;
}

export function validateLora(c: LoraConfig, where = 'lora'): LoraConfig {
  const bad = (field: string, expected: string, found: unknown) =>
    new ShitateError('E_CONFIG', `${where}: ${field} must be ${expected}, found ${JSON.stringify(found)}`,
      'typical values: r 8 or 16, alpha 2*r, dropout 0.05');
  if (!Number.isInteger(c.r) || c.r < 1) throw bad('r', 'a positive integer', c.r);
  if (!(c.alpha > 0)) throw bad('alpha', 'positive', c.alpha);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw bad('dropout', 'in [0, 1)', c.dropout);
  if (c.targetModules !== 'all-linear' && (!Array.isArray(c.targetModules) || c.targetModules.length === 0)) {
    throw bad('target_modules', 'a non-empty list of module names or "all-linear"', c.targetModules);
  }
  return c;
}

/** The value of the first pattern key (in its order) that matches the module path `name` as PEFT's
 *  get_pattern_key matches it: the whole path, or its last dotted components, equal the key read as a regex. */
function patternValue(pattern: Record<string, number> | undefined, name: string): number | undefined {
  if (!pattern) return undefined;
  for (const [key, v] of Object.entries(pattern)) if (new RegExp(`^(?:.*\\.)?(?:${key})$`).test(name)) return v;
  return undefined;
}

/** r and alpha of the LoRA on module `name` ("model.layers.3.self_attn.q_proj"): its patterns', else the config's. */
export function moduleLora(c: LoraConfig, name: string): { r: number; alpha: number } {
  return { r: patternValue(c.rankPattern, name) ?? c.r, alpha: patternValue(c.alphaPattern, name) ?? c.alpha };
}

/** Does the linear layer `name` (e.g. "model.layers.3.self_attn.q_proj") match the targets? PEFT matches a
 *  listed name when it equals the full name or is its last dotted component(s). */
export function isTarget(name: string, targets: LoraConfig['targetModules']): boolean {
  if (targets === 'all-linear') return true;
  return targets.some((t) => name === t || name.endsWith(`.${t}`));
}
