// model_type -> family, and config.json parsing dispatched by it. Adding a family is a file under src/models/
// and one entry in FAMILIES (see README.md in this folder).
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { Fields, readJsonObject, type Json } from '../io/json-fields.js';
import type { Family } from './family.js';
import type { ParamTable } from './params.js';
import type { ModelConfig } from './types.js';
import { llama } from './llama.js';
import { mistral } from './mistral.js';
import { qwen2 } from './qwen2.js';
import { qwen3 } from './qwen3.js';
import { smollm3 } from './smollm3.js';
import { granite } from './granite.js';
import { gemma2 } from './gemma2.js';
import { gemma3, gemma3Text } from './gemma3.js';
import { gemma4, gemma4Text } from './gemma4.js';
import { phi3 } from './phi3.js';
import { falcon } from './falcon.js';
import { bloom } from './bloom.js';
import { qwen35, qwen35Text } from './qwen3_5.js';
import { lfm2 } from './lfm2.js';

/** Every family the engine runs, in the order error messages list them. */
export const FAMILIES: readonly Family[] = [llama, mistral, qwen2, qwen3, smollm3, granite, gemma2, gemma3Text, gemma3, gemma4Text, gemma4, phi3, falcon, bloom, qwen35Text, qwen35, lfm2];

const BY_TYPE = new Map<string, Family>(FAMILIES.flatMap((fam) => [fam.modelType, ...fam.aliases].map((t): [string, Family] => [t, fam])));

/** Every config.json model_type that loads (aliases included). */
export const SUPPORTED_MODEL_TYPES: readonly string[] = [...BY_TYPE.keys()];

/** The family of a model_type (or alias); null when the engine has none. */
export function findFamily(modelType: string): Family | null {
  return BY_TYPE.get(modelType) ?? null;
}

function familyOfConfig(f: Fields): Family {
  const t = f.obj.model_type;
  const fam = typeof t === 'string' ? findFamily(t) : null;
  if (fam) return fam;
  throw new ShitateError('E_UNSUPPORTED_MODEL',
    `${f.file}: expected model_type to be one of ${SUPPORTED_MODEL_TYPES.join(', ')}, found ${t === undefined ? 'no model_type' : JSON.stringify(t)}`,
    `shitate runs these architectures (${SUPPORTED_MODEL_TYPES.join(', ')}); pick a model of one of them`);
}

/** The family of a parsed config. */
export function familyOf(c: Pick<ModelConfig, 'modelType'>): Family {
  const fam = findFamily(c.modelType);
  if (!fam) throw new ShitateError('E_UNSUPPORTED_MODEL', `model_type ${JSON.stringify(c.modelType)} has no family`, `supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`);
  return fam;
}

/** Validates a parsed config.json with its family's rules; `file` names it in errors. */
export function parseModelConfig(obj: Json, file = 'config.json'): ModelConfig {
  const f = new Fields(file, obj);
  return familyOfConfig(f).parseConfig(f);
}

/** Reads `dir/config.json`. */
export function loadModelConfig(dir: string): ModelConfig {
  const file = path.join(dir, 'config.json');
  const obj = readJsonObject(file, 'a Hugging Face model folder holds config.json next to the weights; download the full folder');
  return parseModelConfig(obj, file);
}

/** The parameter table of a config (every weight by HF name and shape), without loading anything. */
export function parameterTable(c: ModelConfig): ParamTable {
  return familyOf(c).parameters(c);
}

/** model_type (aliases included) -> family, as a plain record for lookups by key. */
export const ARCHITECTURES: Readonly<Record<string, Family>> = Object.fromEntries(BY_TYPE);
