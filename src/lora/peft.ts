// PEFT's on-disk adapter format: adapter_config.json + adapter_model.safetensors with tensor names
// "base_model.model.<linear>.lora_A.weight" [R, in] and "...lora_B.weight" [out, R] (lm_head included), and for
// embeddings "...embed_tokens.lora_embedding_A" [R, V] / "..._B" [C, R] with the saved "...base_layer.weight".
// Adapters saved here load in PEFT/vLLM; adapters trained there load here.
import fs from 'node:fs';
import path from 'node:path';
import { Tensor } from '../tensor/index.js';
import { openSafetensors, writeSafetensors } from '../io/safetensors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { Fields, readJsonObject, type Json } from '../io/json-fields.js';
import { ShitateError } from '../errors.js';
import { attachLoraWeights, type HasLinears, type LoraSet } from './attach.js';
import { languageModelFactors } from './language-model.js';
import { loraScaling, moduleLora, type LoraConfig } from './config.js';
import { checkAdapterBase, writeBaseIdentity } from './adapter-base.js';
import { hasTokenMatrices, tokenModuleOf, TokenMatrixLora } from './token-matrices.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

export function loraConfigToPeft(c: LoraConfig, baseModel: string): Json {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: c.r,
    lora_alpha: c.alpha,
    lora_dropout: c.dropout,
    target_modules: c.targetModules,
    use_rslora: c.useRslora,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: null,
    layers_to_transform: null,
    use_dora: false,
    rank_pattern: c.rankPattern ?? {},
    alpha_pattern: c.alphaPattern ?? {},
  };
}

/** Parses adapter_config.json, refusing the PEFT features this engine does not implement. */
export function parsePeftConfig(obj: Json, file: string): LoraConfig {
  const f = new Fields(file, obj);
  const refuse = (what: string, found: unknown) =>
    new ShitateError('E_ADAPTER', `${file}: ${what} is not supported, found ${JSON.stringify(found)}`,
      'train the adapter as plain LoRA (peft_type LORA, bias "none", no DoRA, no modules_to_save or trainable tokens)');
  if (obj.peft_type !== 'LORA') throw refuse('peft_type other than "LORA"', obj.peft_type);
  if (obj.use_dora === true) throw refuse('DoRA (use_dora)', true);
  if (obj.bias !== undefined && obj.bias !== 'none') throw refuse('bias training', obj.bias);
  if (obj.fan_in_fan_out === true) throw refuse('fan_in_fan_out (GPT-2 style Conv1D)', true);
  if (Array.isArray(obj.modules_to_save) && obj.modules_to_save.length > 0) throw refuse('modules_to_save (fully trained copies of modules)', obj.modules_to_save);
  const tti = obj.trainable_token_indices;
  if (tti && typeof tti === 'object' && Object.keys(tti).length > 0) throw refuse('trainable_token_indices', tti);
  const rankPattern = patternOf(obj.rank_pattern, 'rank_pattern', file, true);
  const alphaPattern = patternOf(obj.alpha_pattern, 'alpha_pattern', file, false);
  if (Array.isArray(obj.target_parameters) && obj.target_parameters.length > 0) throw refuse('target_parameters (LoRA on raw parameters)', obj.target_parameters);
  if (obj.layer_replication !== undefined && obj.layer_replication !== null) throw refuse('layer_replication', obj.layer_replication);
  const tm = obj.target_modules;
  const targetModules = tm === 'all-linear' ? 'all-linear' : Array.isArray(tm) ? tm.map(String) : typeof tm === 'string' ? [tm] : [];
  return {
    r: f.posInt('r'),
    alpha: f.posNum('lora_alpha'),
    dropout: f.optNum('lora_dropout') ?? 0,
    targetModules,
    useRslora: f.bool('use_rslora', false),
    ...(rankPattern ? { rankPattern } : {}),
    ...(alphaPattern ? { alphaPattern } : {}),
  };
}

/** rank_pattern / alpha_pattern: {module regex: r or alpha}; null when absent or empty. */
function patternOf(v: unknown, key: string, file: string, integer: boolean): Record<string, number> | null {
  if (v === undefined || v === null) return null;
  const bad = (found: unknown) => new ShitateError('E_ADAPTER', `${file}: expected ${key} to map module patterns to ${integer ? 'positive integers' : 'positive numbers'}, found ${JSON.stringify(found)}`,
    'the adapter config is damaged; save the adapter again with PEFT');
  if (typeof v !== 'object' || Array.isArray(v)) throw bad(v);
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x !== 'number' || !(x > 0) || (integer && !Number.isInteger(x))) throw bad({ [k]: x });
    try {
      new RegExp(k);
    } catch {
      throw bad(k);
    }
    out[k] = x;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** The tensors of an adapter file by kind: LoRA factors of linear layers (lm_head included), of embeddings,
 *  and the full base layers PEFT saves beside a targeted embed_tokens / lm_head. */
interface AdapterTensors {
  linear: Map<string, { A?: Tensor; B?: Tensor }>;
  embedding: Map<string, { A?: Tensor; B?: Tensor }>;
  baseLayers: Map<string, Tensor>;
}

const LINEAR_FACTOR = /^base_model\.model\.(.+)\.lora_([AB])(?:\.[A-Za-z0-9_-]+)?\.weight$/;
const EMBEDDING_FACTOR = /^base_model\.model\.(.+)\.lora_embedding_([AB])(?:\.[A-Za-z0-9_-]+)?$/;
const BASE_LAYER = /^base_model\.model\.(.+?)(?:\.base_layer)?\.weight$/;

function readTensors(wFile: string, trainable: boolean): AdapterTensors {
  const out: AdapterTensors = { linear: new Map(), embedding: new Map(), baseLayers: new Map() };
  const st = openSafetensors(wFile);
  try {
    for (const [name, info] of st.header) {
      const t = (): Tensor => Tensor.from(st.readF32(name), info.shape, trainable);
      const lin = LINEAR_FACTOR.exec(name) ?? null;
      const emb = lin ? null : EMBEDDING_FACTOR.exec(name);
      const base = lin || emb ? null : BASE_LAYER.exec(name);
      const m = lin ?? emb;
      if (m) {
        const map = lin ? out.linear : out.embedding;
        const entry = map.get(m[1]) ?? {};
        entry[m[2] as 'A' | 'B'] = t();
        map.set(m[1], entry);
      } else if (base && tokenModuleOf(base[1])) {
        out.baseLayers.set(base[1], t());
      } else {
        throw new ShitateError('E_ADAPTER', `${wFile}: tensor "${name}" is neither a LoRA factor (lora_A / lora_B, lora_embedding_A / lora_embedding_B) nor the saved base layer of embed_tokens or lm_head`,
          'only plain LoRA adapters are supported (no DoRA magnitudes, LoRA biases, modules_to_save copies or trainable tokens)');
      }
    }
  } finally {
    st.close();
  }
  return out;
}

/** Every factor pair complete, with the rank adapter_config.json states. */
function checkFactors(t: AdapterTensors, config: LoraConfig, wFile: string, cfgFile: string): void {
  for (const [kind, map] of [['lora', t.linear], ['lora_embedding', t.embedding]] as const) {
    for (const [name, f] of map) {
      if (!f.A || !f.B) {
        throw new ShitateError('E_ADAPTER', `${wFile}: "${name}" has only one of ${kind}_A / ${kind}_B`, 'the adapter file is incomplete; save it again');
      }
      const [rankA, rankB] = [f.A.shape[0], f.B.shape[f.B.shape.length - 1]];
      const { r } = moduleLora(config, name);
      if (rankA !== r || rankB !== r) {
        throw new ShitateError('E_ADAPTER', `${cfgFile} says r = ${r} for "${name}", but ${kind}_A / ${kind}_B of "${name}" in ${wFile} have rank ${rankA === r ? rankB : rankA}`,
          'the config and the weights come from different adapters (or r was edited by hand): save the adapter again, or set r to the rank of the weights');
      }
    }
  }
}

export interface LoadAdapterOptions {
  /** the base model folder: warns when the adapter was trained on a base with another config.json */
  baseDir?: string;
  /** where warnings go (default: stderr) */
  onWarning?: (message: string) => void;
}

/** LoRA of embed_tokens and lm_head (with the base layers PEFT saved beside them). */
function tokenAdapters(t: AdapterTensors, config: LoraConfig): TokenMatrixLora[] {
  const out: TokenMatrixLora[] = [];
  const scaling = (name: string) => loraScaling({ ...config, ...moduleLora(config, name) });
  for (const [map, want] of [[t.embedding, 'embed_tokens'], [t.linear, 'lm_head']] as const) {
    for (const [name, f] of map) {
      const module = tokenModuleOf(name);
      if (module !== want) continue; // linear factors of other modules are attached as LoRA layers
      map.delete(name);
      const baseName = [...t.baseLayers.keys()].find((k) => tokenModuleOf(k) === module) ?? null;
      out.push(new TokenMatrixLora(name, module, f.A!, f.B!, scaling(name), baseName ? t.baseLayers.get(baseName)! : null));
    }
  }
  for (const name of t.embedding.keys()) {
    throw new ShitateError('E_ADAPTER', `adapter has embedding LoRA for "${name}", which is not this model's embed_tokens`, 'load the adapter on the model it was trained for');
  }
  return out;
}

/** Loads a PEFT LoRA adapter folder onto the model (weights become f32; A/B not trainable unless asked).
 *  LoRA on lm_head and embed_tokens loads for inference and merging; training it is refused. */
export function loadAdapter(dir: string, model: HasLinears, trainable = false, opts: LoadAdapterOptions = {}): LoraSet {
  const cfgFile = path.join(dir, ADAPTER_CONFIG);
  const raw = readJsonObject(cfgFile, 'an adapter folder holds adapter_config.json and adapter_model.safetensors');
  const config = parsePeftConfig(raw, cfgFile);
  const wFile = path.join(dir, ADAPTER_WEIGHTS);
  if (!fs.existsSync(wFile)) {
    const hasBin = fs.existsSync(path.join(dir, 'adapter_model.bin'));
    throw new ShitateError('E_NOT_FOUND', `expected ${wFile}, found ${hasBin ? 'only adapter_model.bin (pickle)' : 'nothing'}`,
      hasBin ? 'convert it to safetensors with PEFT (save_pretrained(..., safe_serialization=True)); pickle files are never loaded' : 'pass the folder that holds the adapter files');
  }
  const tensors = readTensors(wFile, trainable);
  checkFactors(tensors, config, wFile, cfgFile);
  const tokens = tokenAdapters(tensors, config);
  if (tokens.length > 0) checkTokenSupport(tokens, model, trainable, raw, dir);
  const warn = opts.onWarning ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
  const linear = languageModelFactors(new Map([...tensors.linear].map(([k, f]) => [k, { A: f.A!, B: f.B! }])), model, warn);
  const set = attachLoraWeights(model, config, linear);
  if (tokens.length > 0 && hasTokenMatrices(model)) {
    try {
      set.attachTokens(tokens, model.weights);
    } catch (e) {
      set.detach(); // a refused adapter leaves the model as it was
      throw e;
    }
    for (const t of tokens) {
      const d = t.baseCopyDiffers(model.weights);
      if (d > 0) warn(`adapter ${dir} carries its own ${t.module} weights, which differ from this base's (largest difference ${d.toExponential(2)}); they are used, as PEFT does`);
    }
  }
  if (opts.baseDir) for (const m of checkAdapterBase(dir, opts.baseDir, typeof raw.base_model_name_or_path === 'string' ? raw.base_model_name_or_path : null)) warn(m);
  return set;
}

function checkTokenSupport(tokens: TokenMatrixLora[], model: HasLinears, trainable: boolean, raw: Json, dir: string): void {
  const names = tokens.map((t) => t.module).join(' and ');
  if (trainable) {
    throw new ShitateError('E_ADAPTER', `adapter ${dir} has LoRA on ${names}: this engine loads such adapters for chat, generate, eval and merge, but does not train them`,
      'train LoRA on the projections (q_proj ... down_proj), or continue training this adapter in PEFT');
  }
  if (!hasTokenMatrices(model)) {
    throw new ShitateError('E_ADAPTER', `adapter ${dir} has LoRA on ${names}, which this model family does not expose for adapters`, 'use an adapter on the projections only');
  }
  if (raw.ensure_weight_tying === true && model.weights.embed === model.weights.lmHead) {
    throw new ShitateError('E_ADAPTER', `adapter ${dir}: ensure_weight_tying (one LoRA shared by the tied embed_tokens and lm_head) is not supported`,
      'train the adapter with ensure_weight_tying false (PEFT\'s default), or merge it in PEFT');
  }
}

/** Writes adapter_config.json, adapter_model.safetensors (f32) and base_model.json (which base, by config hash)
 *  atomically into dir. `baseModel` is the base's folder (or Hub id) as adapter_config.json records it. */
export function saveAdapter(dir: string, set: LoraSet, baseModel: string, extraFiles: Record<string, string> = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, ADAPTER_WEIGHTS),
    set.params().map(({ name, tensor }) => ({ name, shape: [...tensor.shape], dtype: 'F32' as const, data: tensor.data })),
    { format: 'pt' });
  writeFileAtomic(path.join(dir, ADAPTER_CONFIG), JSON.stringify(loraConfigToPeft(set.config, baseModel), null, 2) + '\n');
  if (fs.existsSync(path.join(baseModel, 'config.json'))) writeBaseIdentity(dir, baseModel, baseModel);
  for (const [name, text] of Object.entries(extraFiles)) writeFileAtomic(path.join(dir, name), text);
}
