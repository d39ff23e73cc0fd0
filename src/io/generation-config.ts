// generation_config.json -> typed sampling defaults. Absent fields stay null so the generation layer can
// tell "the model recommends" from "shitate's default". Field names follow transformers' GenerationConfig.
import fs from 'node:fs';
import path from 'node:path';
import { Fields, readJsonObject, type Json } from './json-fields.js';

export interface GenerationConfig {
  bosTokenId: number | null;
  eosTokenIds: number[];
  padTokenId: number | null;
  temperature: number | null;
  topP: number | null;
  topK: number | null;
  repetitionPenalty: number | null;
  maxNewTokens: number | null;
  maxLength: number | null;
  doSample: boolean | null;
}

export const EMPTY_GENERATION_CONFIG: GenerationConfig = {
  bosTokenId: null, eosTokenIds: [], padTokenId: null, temperature: null, topP: null, topK: null,
  repetitionPenalty: null, maxNewTokens: null, maxLength: null, doSample: null,
};

/** Reads `dir/generation_config.json`; a folder without one gets all-null defaults (it is optional). */
export function loadGenerationConfig(dir: string): GenerationConfig {
  const file = path.join(dir, 'generation_config.json');
  if (!fs.existsSync(file)) return { ...EMPTY_GENERATION_CONFIG, eosTokenIds: [] };
  return parseGenerationConfig(readJsonObject(file, 'generation_config.json is optional; delete the broken file or re-download it'), file);
}

export function parseGenerationConfig(obj: Json, file = 'generation_config.json'): GenerationConfig {
  const f = new Fields(file, obj);
  return {
    bosTokenId: f.optInt('bos_token_id'),
    eosTokenIds: f.idList('eos_token_id'),
    padTokenId: f.optInt('pad_token_id'),
    temperature: f.optNonNegNum('temperature'), // 0 appears in exported configs meaning greedy
    topP: f.has('top_p') ? f.posNum('top_p') : null,
    topK: f.optInt('top_k'),
    repetitionPenalty: f.has('repetition_penalty') ? f.posNum('repetition_penalty') : null,
    maxNewTokens: f.has('max_new_tokens') ? f.posInt('max_new_tokens') : null,
    maxLength: f.has('max_length') ? f.posInt('max_length') : null,
    doSample: f.optBool('do_sample'),
  };
}

/** Stop tokens: generation_config's first (it is what transformers' generate() uses), then config.json's
 *  ids not already listed, then `extra` (e.g. the tokenizer's eos). Order is kept, duplicates dropped. */
export function resolveEosTokenIds(model: { eosTokenIds: readonly number[] }, gen: Pick<GenerationConfig, 'eosTokenIds'>, extra: number[] = []): number[] {
  return [...new Set([...gen.eosTokenIds, ...model.eosTokenIds, ...extra])];
}
