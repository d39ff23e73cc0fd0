// Public face of LoRA: config, layers, attaching, PEFT files.
export { DEFAULT_LORA, isTarget, loraScaling, validateLora, type LoraConfig } from './config.js';
export { LoraLayer } from './lora.js';
export { LoraSet, attachLora, attachLoraWeights, peftName, type HasLinears } from './attach.js';
export { ADAPTER_CONFIG, ADAPTER_WEIGHTS, loadAdapter, saveAdapter, parsePeftConfig, loraConfigToPeft } from './peft.js';
