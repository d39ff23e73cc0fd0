// shitate's library API. The CLI is built on exactly these exports.
export { ShitateError } from './errors.js';
export * from './tensor/index.js';
export { kernels, nativeStatus, referenceKernels, useKernels, type Kernels } from './kernels/index.js';
export { loadModel, KVCache, shiftLabels, type LoadedModel, type LlamaModel, type ForwardInput, type ForwardOutput } from './models/index.js';
export {
  loadModelConfig, parseModelConfig, FAMILIES, SUPPORTED_MODEL_TYPES, findFamily,
  type CausalLM, type ModelConfig, type Family, type LoadModelOptions,
} from './models/index.js';
export { loadTokenizer, createStreamDecoder, type ChatMessage, type Tokenizer } from './tokenizer/index.js';
export { loadAdapter, saveAdapter, attachLora, type LoraSet, type LoraConfig } from './lora/index.js';
export { runTraining, type RunOptions, type RunResult } from './train/session.js';
export { TRAIN_DEFAULTS, type TrainConfig } from './train/config.js';
export * from './generate/index.js';
