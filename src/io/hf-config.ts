// Deprecated location of config.json parsing, which now belongs to each family in src/models/ (registry.ts
// dispatches by model_type). Re-exported here only so callers written against io/ keep compiling; import
// from '../models/index.js' instead.
export {
  loadModelConfig, parseModelConfig, SUPPORTED_MODEL_TYPES, SUPPORTED_ROPE_TYPES,
  type ModelConfig, type RopeScaling,
} from '../models/index.js';
/** @deprecated any config.json model_type the registry knows */
export type ModelType = string;
