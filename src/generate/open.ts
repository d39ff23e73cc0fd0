// openModel(dir): everything generation needs from one model folder — weights, tokenizer, the ids that
// end a reply, an optional LoRA adapter — loaded and checked together.
import { ShitateError } from '../errors.js';
import type { GenerationConfig } from '../io/generation-config.js';
import type { ModelConfig } from '../models/index.js';
import { loadAdapter, type LoraSet } from '../lora/index.js';
import { loadModel, type CausalLM } from '../models/index.js';
import { loadTokenizer, type Tokenizer } from '../tokenizer/index.js';
import { endOfTurnIds } from '../tokenizer/loss-mask.js';

export interface OpenModelOptions {
  /** a PEFT adapter folder to apply */
  adapter?: string | null;
  /** merge the adapter into the weights for faster generation (default true); LoraSet.detach() undoes it */
  fuse?: boolean;
  /** which named chat template to use when the model ships several */
  chatTemplateName?: string;
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
}

export function openModel(dir: string, opts: OpenModelOptions = {}): OpenedModel {
  const loaded = loadModel(dir);
  const tokenizer = loadTokenizer(dir, opts.chatTemplateName ? { chatTemplateName: opts.chatTemplateName } : {});
  const V = loaded.config.vocabSize;
  if (tokenizer.vocabSize > V) {
    throw new ShitateError('E_TOKENIZER', `${dir}: the tokenizer has ${tokenizer.vocabSize} tokens; expected at most the model's vocab_size of ${V}`,
      'tokenizer.json and the weights come from different models; re-download the model folder');
  }
  const candidates = [...loaded.eosTokenIds, ...tokenizer.eosTokenIds, ...endOfTurnIds(tokenizer)];
  const endIds = [...new Set(candidates)].filter((id) => id >= 0 && id < V);
  let adapter: LoraSet | null = null;
  if (opts.adapter) {
    adapter = loadAdapter(opts.adapter, loaded.model);
    if (opts.fuse ?? true) adapter.fuse();
  }
  return { dir, config: loaded.config, generation: loaded.generation, model: loaded.model, tokenizer, endIds, adapter };
}
