// How a sentence-transformers folder turns token states into one vector: modules.json (Transformer -> Pooling ->
// Normalize), the Pooling module's modes (1_Pooling/config.json), max_seq_length (sentence_bert_config.json) and the
// prompts its model card asks for (config_sentence_transformers.json; e5 models without them use "query: " and
// "passage: "). A folder without modules.json pools by mean, as sentence-transformers does for a plain model.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { readJsonObject, type Json } from '../io/json-fields.js';
import { isRecord } from '../io/safetensors-header.js';

/** sentence-transformers' pooling modes, in the order it concatenates them. */
export const POOLING_MODES = ['cls', 'max', 'mean', 'mean_sqrt_len', 'weightedmean', 'lasttoken'] as const;
export type PoolingMode = (typeof POOLING_MODES)[number];

/** 1_Pooling/config.json's switch for each mode */
const POOLING_KEYS: Record<PoolingMode, string> = {
  cls: 'pooling_mode_cls_token', max: 'pooling_mode_max_tokens', mean: 'pooling_mode_mean_tokens',
  mean_sqrt_len: 'pooling_mode_mean_sqrt_len_tokens', weightedmean: 'pooling_mode_weightedmean_tokens', lasttoken: 'pooling_mode_lasttoken',
};

export interface Prompts {
  query: string;
  passage: string;
}

export interface SentenceConfig {
  /** the modes whose vectors are concatenated (usually one) */
  pooling: PoolingMode[];
  normalize: boolean;
  /** max_seq_length, when the folder names one */
  maxLength: number | null;
  prompts: Prompts;
  /** where the pooling and prompts came from, for messages */
  source: string;
}

const KNOWN_MODULES = /^sentence_transformers\.models\.(Transformer|Pooling|Normalize)$/;

function readIf(file: string): Json | null {
  return fs.existsSync(file) ? readJsonObject(file, 're-download it with the model') : null;
}

function poolingOf(file: string, cfg: Json): PoolingMode[] {
  const on = POOLING_MODES.filter((m) => cfg[POOLING_KEYS[m]] === true);
  if (on.length === 0) {
    throw new ShitateError('E_CONFIG', `${file}: expected one pooling_mode_* set to true, found none`, 're-download 1_Pooling/config.json with the model');
  }
  if (cfg.include_prompt === false) {
    throw new ShitateError('E_UNSUPPORTED_MODEL', `${file}: include_prompt false (pooling that leaves the prompt tokens out) is not implemented`,
      'use a model whose pooling includes the prompt (most e5, bge and ruri models)');
  }
  return on;
}

/** Prompts from config_sentence_transformers.json ("query", and "passage" or "document"), else e5's convention. */
function promptsOf(dir: string, stCfg: Json | null): Prompts {
  const p = isRecord(stCfg?.prompts) ? (stCfg.prompts as Record<string, unknown>) : {};
  const str = (k: string): string | null => (typeof p[k] === 'string' ? p[k] : null);
  const query = str('query');
  const passage = str('passage') ?? str('document') ?? str('doc');
  if (query !== null || passage !== null) return { query: query ?? '', passage: passage ?? '' };
  const name = `${path.basename(path.resolve(dir))} ${String(readIf(path.join(dir, 'config.json'))?._name_or_path ?? '')}`;
  return /(^|[^a-z])e5([^a-z]|$)/i.test(name) ? { query: 'query: ', passage: 'passage: ' } : { query: '', passage: '' };
}

export function readSentenceConfig(dir: string): SentenceConfig {
  const modulesFile = path.join(dir, 'modules.json');
  const stCfg = readIf(path.join(dir, 'config_sentence_transformers.json'));
  const bert = readIf(path.join(dir, 'sentence_bert_config.json'));
  const maxLength = typeof bert?.max_seq_length === 'number' && bert.max_seq_length > 0 ? bert.max_seq_length : null;
  const prompts = promptsOf(dir, stCfg);
  if (!fs.existsSync(modulesFile)) return { pooling: ['mean'], normalize: false, maxLength, prompts, source: 'mean pooling (no modules.json)' };
  let modules: unknown;
  try {
    modules = JSON.parse(fs.readFileSync(modulesFile, 'utf8'));
  } catch (e) {
    throw new ShitateError('E_JSON', `${modulesFile}: expected JSON, found invalid content (${(e as Error).message})`, 're-download modules.json');
  }
  const list = Array.isArray(modules) ? modules.filter(isRecord) : [];
  const odd = list.filter((m) => typeof m.type !== 'string' || !KNOWN_MODULES.test(m.type));
  if (odd.length > 0) {
    throw new ShitateError('E_UNSUPPORTED_MODEL', `${modulesFile}: expected Transformer, Pooling and Normalize modules, found ${odd.map((m) => JSON.stringify(m.type)).join(', ')}`,
      'models with Dense or other extra sentence-transformers modules are not supported; pick a model without them');
  }
  const poolMod = list.find((m) => String(m.type).endsWith('.Pooling'));
  const poolFile = poolMod ? path.join(dir, String(poolMod.path ?? ''), 'config.json') : null;
  const pooling = poolFile && fs.existsSync(poolFile) ? poolingOf(poolFile, readJsonObject(poolFile, 're-download it')) : (['mean'] as PoolingMode[]);
  const normalize = list.some((m) => String(m.type).endsWith('.Normalize'));
  return { pooling, normalize, maxLength, prompts, source: `${pooling.join('+')} pooling${normalize ? ', normalized' : ''} (modules.json)` };
}
