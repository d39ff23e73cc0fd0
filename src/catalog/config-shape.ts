// The shape of any decoder's config.json for sizing, read leniently: families the engine cannot run still
// get their GPU figures. Reads the text model of multimodal configs (text_config) and the common field
// spellings (hidden_size / n_embd / d_model, num_hidden_layers / n_layer, ...), with transformers' defaults.
import { ShitateError } from '../errors.js';
import type { ModelShape } from '../train/estimate.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The first positive integer among the spellings. */
function int(o: Obj, keys: string[]): number | null {
  for (const k of keys) {
    const v = o[k];
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  }
  return null;
}

/** Families whose config class ties the LM head to the embedding unless told otherwise. */
const TIED_BY_DEFAULT = /^(gemma|gemma2|gemma3|gemma3_text|bloom|falcon|gpt2|phi|bert|roberta)$/;

/** model_type of the config (the text model's for a multimodal one), or null. */
export function configModelType(obj: Obj): string | null {
  return typeof obj.model_type === 'string' ? obj.model_type : null;
}

/** The sizing shape of a config.json object; `file` names it in the error when a size field is missing. */
export function configShape(obj: Obj, file: string): ModelShape {
  const text = isObj(obj.text_config) ? { ...obj, ...obj.text_config } : obj;
  const C = int(text, ['hidden_size', 'n_embd', 'd_model']);
  const L = int(text, ['num_hidden_layers', 'n_layer', 'num_layers']);
  const H = int(text, ['num_attention_heads', 'n_head', 'num_heads']);
  const V = int(text, ['vocab_size', 'padded_vocab_size']);
  if (C === null || L === null || H === null || V === null) {
    const missing = [['hidden_size', C], ['num_hidden_layers', L], ['num_attention_heads', H], ['vocab_size', V]].filter(([, v]) => v === null).map(([k]) => k);
    throw new ShitateError('E_CONFIG', `${file}: expected the model's size fields, found no ${missing.join(', ')}`,
      'pass a decoder model folder (config.json from the Hugging Face repository), or a catalog name');
  }
  const Hkv = int(text, ['num_key_value_heads', 'num_kv_heads', 'multi_query_group_num']) ?? (text.multi_query === true ? 1 : H);
  const D = int(text, ['head_dim', 'kv_channels']) ?? Math.round(C / H);
  const F = int(text, ['intermediate_size', 'ffn_hidden_size', 'n_inner', 'ffn_dim']) ?? 4 * C;
  const type = String(text.model_type ?? '');
  const tied = typeof text.tie_word_embeddings === 'boolean' ? text.tie_word_embeddings
    : typeof obj.tie_word_embeddings === 'boolean' ? obj.tie_word_embeddings : TIED_BY_DEFAULT.test(type);
  return { C, F, L, H, Hkv, D, V, tied };
}
