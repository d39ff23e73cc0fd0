// loadModel(dir): a local Hugging Face folder -> config, weights (f32 in memory), generation settings.
import { openCheckpoint } from '../io/checkpoint.js';
import { loadModelConfig, type ModelConfig } from '../io/hf-config.js';
import { loadGenerationConfig, resolveEosTokenIds, type GenerationConfig } from '../io/generation-config.js';
import { ARCHITECTURES } from './registry.js';
import type { LlamaModel } from './llama.js';

export interface LoadedModel {
  dir: string;
  config: ModelConfig;
  generation: GenerationConfig;
  /** every token id that ends generation (config.json and generation_config.json together) */
  eosTokenIds: number[];
  model: LlamaModel;
}

export function loadModel(dir: string): LoadedModel {
  const config = loadModelConfig(dir);
  const generation = loadGenerationConfig(dir);
  const ck = openCheckpoint(dir);
  try {
    const model = ARCHITECTURES[config.modelType](ck, config);
    return { dir, config, generation, eosTokenIds: resolveEosTokenIds(config, generation), model };
  } finally {
    ck.close();
  }
}
