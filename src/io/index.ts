// Public surface of io/: model folder files (weights, configs) read and written with validation.
export { writeFileAtomic, withAtomicFile, tempPathFor } from './atomic.js';
export { openSafetensors, writeSafetensors, type SafetensorsFile, type TensorToWrite } from './safetensors.js';
export { DTYPE_SIZES, FLOAT_DTYPES, type Dtype, type FloatDtype, type TensorInfo } from './safetensors-header.js';
export { openCheckpoint, SINGLE_FILE, INDEX_FILE, type Checkpoint, type CheckpointTensor } from './checkpoint.js';
export {
  loadGenerationConfig, parseGenerationConfig, resolveEosTokenIds, EMPTY_GENERATION_CONFIG,
  type GenerationConfig,
} from './generation-config.js';
