// openModel(dir): everything generation needs from one model folder — weights, tokenizer, the ids that
// end a reply, an optional LoRA adapter and the chat template variables — loaded and checked together.
import fs from 'node:fs';
import path from 'node:path';
import type { GenerationConfig } from '../io/generation-config.js';
import type { ModelConfig } from '../models/index.js';
import { loadAdapter, type LoraSet } from '../lora/index.js';
import { loadModel, setKvCacheFormat, type CausalLM, type KvCacheFormat } from '../models/index.js';
import { holdWeightsBf16, holdWeightsInt8, setWeightFormat, type WeightFormat } from '../tensor/index.js';
import { checkTokenizerFits, loadTokenizer, type TemplateVars, type Tokenizer } from '../tokenizer/index.js';
import { endOfTurnIds } from '../tokenizer/loss-mask.js';

export interface OpenModelOptions {
  /** a PEFT adapter folder to apply */
  adapter?: string | null;
  /** merge the adapter into the weights for faster generation (default true); LoraSet.detach() undoes it */
  fuse?: boolean;
  /** which named chat template to use when the model ships several */
  chatTemplateName?: string;
  /** chat template variables (enable_thinking, ...), over the ones the adapter was trained with */
  templateVars?: TemplateVars | null;
  /** the format frozen weights are multiplied in (tensor/weights.ts; process-wide): 'bf16' rounds them once and
   *  halves the bytes a decode step reads, 'int8' quantizes them per output channel (a quarter of the bytes);
   *  unset keeps the process's current format (f32 unless set) */
  weights?: WeightFormat;
  /** how generation caches hold keys and values (models/kv-cache.ts; process-wide): 'bf16' halves the cache's
   *  memory and the bytes each decode step's attention reads; 'auto' (the process's default until set) bf16 beside
   *  bf16 or int8 weights, float32 beside float32 ones. Unset keeps the process's current setting. */
  kvCache?: KvCacheFormat | 'auto';
}

export interface OpenedModel {
  dir: string;
  config: ModelConfig;
  generation: GenerationConfig;
  model: CausalLM;
  tokenizer: Tokenizer;
  /** every id that ends a reply: generation_config's and config.json's eos, the tokenizer's eos and the
   *  chat template's end-of-turn tokens */
  endIds: number[];
  adapter: LoraSet | null;
  /** chat template variables every chat prompt renders with (the caller's, else the adapter's training ones) */
  templateVars: TemplateVars;
}

/** The chat template variables an adapter was trained with (its shitate.json), or null when it records none. */
export function adapterTemplateVars(adapterDir: string): TemplateVars | null {
  const file = path.join(adapterDir, 'shitate.json');
  if (!fs.existsSync(file)) return null;
  try {
    const v = (JSON.parse(fs.readFileSync(file, 'utf8')) as { chat_template_kwargs?: unknown }).chat_template_kwargs;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as TemplateVars) : null;
  } catch {
    return null; // a damaged shitate.json loses only this default; the adapter's own files are read by loadAdapter
  }
}

export function openModel(dir: string, opts: OpenModelOptions = {}): OpenedModel {
  const loaded = loadModel(dir);
  const tokenizer = loadTokenizer(dir, opts.chatTemplateName ? { chatTemplateName: opts.chatTemplateName } : {});
  const V = loaded.config.vocabSize;
  checkTokenizerFits(tokenizer, V, dir);
  const candidates = [...loaded.eosTokenIds, ...tokenizer.eosTokenIds, ...endOfTurnIds(tokenizer)];
  const endIds = [...new Set(candidates)].filter((id) => id >= 0 && id < V);
  let adapter: LoraSet | null = null;
  if (opts.adapter) {
    adapter = loadAdapter(opts.adapter, loaded.model, false, { baseDir: dir });
    if (opts.fuse ?? true) adapter.fuse();
  }
  if (opts.weights) setWeightFormat(opts.weights);
  if (opts.kvCache) setKvCacheFormat(opts.kvCache);
  if (opts.weights === 'bf16') holdWeightsBf16(loaded.model.linears()); // after fusing: the merged weights rounded once
  if (opts.weights === 'int8') holdWeightsInt8(loaded.model.linears()); // after fusing: the merged weights quantized once
  const templateVars = { ...(opts.adapter ? adapterTemplateVars(opts.adapter) : null), ...opts.templateVars };
  return { dir, config: loaded.config, generation: loaded.generation, model: loaded.model, tokenizer, endIds, adapter, templateVars };
}
