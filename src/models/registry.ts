// model_type -> implementation. One file per HF family; llama.ts covers llama, mistral and qwen2.
import type { Checkpoint } from '../io/checkpoint.js';
import { SUPPORTED_MODEL_TYPES, type ModelConfig, type ModelType } from '../io/hf-config.js';
import { LlamaModel } from './llama.js';
import { loadLlamaWeights } from './llama-weights.js';

type Builder = (ck: Checkpoint, config: ModelConfig) => LlamaModel;

const llama: Builder = (ck, config) => new LlamaModel(config, loadLlamaWeights(ck, config));

export const ARCHITECTURES: Record<ModelType, Builder> = { llama, mistral: llama, qwen2: llama };

export { SUPPORTED_MODEL_TYPES };
