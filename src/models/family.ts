// What a family file exports: how to read its config.json, its parameter table, and how to build the model
// from the loaded table. The registry keeps one Family per model_type; loadModel() drives it.
import type { Checkpoint } from '../io/checkpoint.js';
import type { Fields } from '../io/json-fields.js';
import { loadTable, type LoadedTable, type ParamTable } from './params.js';
import type { Renames } from './renames.js';
import type { CausalLM, ModelConfig } from './types.js';

/** Tensors a checkpoint may hold that are derived, never learned: transformers skips them too. */
const DERIVED_TENSORS: readonly RegExp[] = [/(^|\.)rotary_emb\.inv_freq$/];

export interface Family {
  /** the config.json model_type this family implements */
  readonly modelType: string;
  /** other model_type values whose checkpoints load exactly like this one */
  readonly aliases: readonly string[];
  /** config.json -> ModelConfig; the only place this family's HF config field names are read */
  parseConfig(f: Fields): ModelConfig;
  /** every weight of a model of this config, by HF name and shape */
  parameters(c: ModelConfig): ParamTable;
  /** checkpoint tensors the family knowingly leaves unused (for the unclaimed-tensor check) */
  ignoredTensors(c: ModelConfig): readonly RegExp[];
  /** reads the table from the checkpoint (shape-checked) and builds the model */
  load(ck: Checkpoint, c: ModelConfig): CausalLM;
  /** rewrites of tensor names saved in an older layout (transformers' key mapping), applied when a checkpoint is
   *  opened: the parameter table uses the current names */
  readonly renames: Renames;
  /** module paths as PEFT names them when transformers loads the checkpoint under other paths than it stores
   *  (today's name -> PEFT's); adapters are saved under these and load from either */
  readonly peftRenames: Renames;
  /** checkpoint tensors that are not part of the language model but belong in a merged folder unchanged (a
   *  multimodal wrapper's vision and audio towers) */
  carriedTensors?(c: ModelConfig): readonly RegExp[];
  /** floats a block keeps per token for backward, averaged over layers, when it is not the Llama block's count (the
   *  training estimate; hybrids) */
  activationsPerToken?(c: ModelConfig): number;
}

export interface FamilyDefinition<T extends ParamTable> {
  modelType: string;
  aliases?: readonly string[];
  parseConfig(f: Fields): ModelConfig;
  table(c: ModelConfig): T;
  build(c: ModelConfig, table: T, weights: LoadedTable<T>): CausalLM;
  /** beyond the derived buffers and, when tied, a stored lm_head.weight */
  ignoredTensors?: readonly RegExp[] | ((c: ModelConfig) => readonly RegExp[]);
  renames?: Renames;
  peftRenames?: Renames;
  carriedTensors?(c: ModelConfig): readonly RegExp[];
  activationsPerToken?(c: ModelConfig): number;
}

/** A Family from its typed parts: the table declared once serves parameters(), loading and the model. */
export function defineFamily<T extends ParamTable>(d: FamilyDefinition<T>): Family {
  return {
    modelType: d.modelType,
    aliases: d.aliases ?? [],
    parseConfig: d.parseConfig,
    parameters: d.table,
    ignoredTensors(c) {
      // transformers ties lm_head to the embedding and ignores a stored copy of it
      const own = typeof d.ignoredTensors === 'function' ? d.ignoredTensors(c) : d.ignoredTensors ?? [];
      return [...DERIVED_TENSORS, ...(c.tieWordEmbeddings ? [/^lm_head\.weight$/] : []), ...own];
    },
    renames: d.renames ?? [],
    peftRenames: d.peftRenames ?? [],
    ...(d.carriedTensors ? { carriedTensors: d.carriedTensors } : {}),
    ...(d.activationsPerToken ? { activationsPerToken: d.activationsPerToken } : {}),
    load(ck, c) {
      const table = d.table(c);
      return d.build(c, table, loadTable(ck, table));
    },
  };
}
