// Public face of the model layer.
export { LlamaModel, shiftLabels, type ForwardInput, type ForwardOutput, type LlamaLayer, type LlamaWeights } from './llama.js';
export { KVCache } from './kv-cache.js';
export { applyLinear, type Linear, type LinearAdapter } from './linear.js';
export { RotaryTables, ropeInvFreq } from './rope.js';
export { loadModel, type LoadedModel } from './load.js';
export { ARCHITECTURES, SUPPORTED_MODEL_TYPES } from './registry.js';
export { namedWeights, baseDtype, saveModelFolder } from './save.js';
