// Public face of LoRA: config, layers, attaching, PEFT files.
export { DEFAULT_LORA, isTarget, loraScaling, validateLora, type LoraConfig } from './config.js';
export { LoraLayer } from './lora.js';
export { LoraSet, attachLora, attachLoraWeights, peftName, type HasLinears } from './attach.js';
export { ADAPTER_CONFIG, ADAPTER_WEIGHTS, loadAdapter, saveAdapter, parsePeftConfig, loraConfigToPeft, type LoadAdapterOptions } from './peft.js';
export { BASE_FILE, baseIdentity, canonicalConfig, checkAdapterBase, configSha256, type BaseIdentity } from './adapter-base.js';
export { TokenMatrixLora, hasTokenMatrices, mergedWeights, type TokenMatrices } from './token-matrices.js';
