// loadModel(dir): a local Hugging Face folder -> config, weights (f32 in memory), generation settings. Every
// checkpoint tensor must be claimed by the family's parameter table: a tensor the model would silently drop
// (Qwen3's q_norm under a config relabelled "llama") is an error unless the caller allows it.
import { openCheckpoint } from '../io/checkpoint.js';
import { loadGenerationConfig, resolveEosTokenIds, type GenerationConfig } from '../io/generation-config.js';
import { ShitateError } from '../errors.js';
import { familyOf, loadModelConfig } from './registry.js';
import { unclaimedTensors } from './params.js';
import { renamedCheckpoint } from './renames.js';
import type { CausalLM, ModelConfig } from './types.js';

export interface LoadModelOptions {
  /** load even when the checkpoint holds tensors the architecture does not use, dropping them (default:
   *  SHITATE_ALLOW_UNKNOWN_TENSORS=1 in the environment, else false) */
  allowUnknownTensors?: boolean;
}

export interface LoadedModel {
  dir: string;
  config: ModelConfig;
  generation: GenerationConfig;
  /** every token id that ends generation (config.json and generation_config.json together) */
  eosTokenIds: number[];
  model: CausalLM;
  /** checkpoint tensors left unused (only ever non-empty with allowUnknownTensors) */
  ignoredTensors: string[];
}

function unknownTensorsError(dir: string, modelType: string, names: string[]): ShitateError {
  const shown = names.slice(0, 6).map((n) => `"${n}"`).join(', ');
  return new ShitateError('E_UNKNOWN_TENSOR',
    `${dir}: expected only the weights of a ${modelType} model, found ${names.length} tensor(s) it has no place for: ${shown}${names.length > 6 ? ', ...' : ''}`,
    `config.json's model_type or settings may not match the weights (e.g. Qwen3 weights labelled "llama" lose q_norm/k_norm); use the model's original config.json. To load anyway and drop these tensors, set SHITATE_ALLOW_UNKNOWN_TENSORS=1`);
}

export function loadModel(dir: string, opts: LoadModelOptions = {}): LoadedModel {
  const config = loadModelConfig(dir);
  const family = familyOf(config);
  const generation = loadGenerationConfig(dir);
  const allow = opts.allowUnknownTensors ?? process.env.SHITATE_ALLOW_UNKNOWN_TENSORS === '1';
  const ck = renamedCheckpoint(openCheckpoint(dir), family.renames);
  try {
    const unknown = unclaimedTensors(ck, family.parameters(config), family.ignoredTensors(config));
    if (unknown.length > 0 && !allow) throw unknownTensorsError(dir, config.modelType, unknown);
    if (unknown.length > 0) process.stderr.write(`shitate: ${dir}: ignoring ${unknown.length} checkpoint tensor(s) the ${config.modelType} architecture does not use (${unknown.slice(0, 3).join(', ')}${unknown.length > 3 ? ', ...' : ''})\n`);
    const model = family.load(ck, config);
    return { dir, config, generation, eosTokenIds: resolveEosTokenIds(config, generation), model, ignoredTensors: unknown };
  } finally {
    ck.close();
  }
}
