// Public face of the model layer: the CausalLM contract, loading by model_type, the family registry and the
// shared pieces a family file is built from.
export type { CausalLM, ForwardInput, ForwardOutput, ModelConfig, NamedTensor, RopeScaling } from './types.js';
export { DecoderModel, shiftLabels, decoderFamily, type DecoderWeights } from './decoder.js';
export { decoderTable, type DecoderLayer, type DecoderTable } from './blocks.js';
export { rowDecoder, type DecodeRow, type RowDecoder } from './decode-rows.js';
export { KVCache, KV_CACHE_FORMATS, kvCacheFormat, setKvCacheFormat, type KvCacheFormat, type KVLayout, type LayerLayout, type RecurrentLayout } from './kv-cache.js';
export { applyLinear, type Linear, type LinearAdapter, type LowRankFactors } from './linear.js';
export { RotaryTables, ropeInvFreq, parseRope, SUPPORTED_ROPE_TYPES } from './rope.js';
export { loadModel, type LoadedModel, type LoadModelOptions } from './load.js';
export {
  ARCHITECTURES, FAMILIES, SUPPORTED_MODEL_TYPES, findFamily, familyOf, loadModelConfig, parseModelConfig, parameterTable,
} from './registry.js';
export { defineFamily, type Family, type FamilyDefinition } from './family.js';
export {
  countParams, tableTensors, linearSpec, tensorSpec, type ParamCounts, type ParamTable, type LinearSpec, type TensorSpec,
} from './params.js';
export { namedWeights, baseDtype, saveModelFolder } from './save.js';
export { currentName, renamedCheckpoint, type Renames } from './renames.js';

import type { CausalLM } from './types.js';
/** @deprecated the model type of every family is CausalLM; kept so code written for the Llama-only engine compiles */
export type LlamaModel = CausalLM;
