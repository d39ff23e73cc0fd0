// PEFT's on-disk adapter format: adapter_config.json + adapter_model.safetensors with tensor names
// "base_model.model.<linear>.lora_A.weight" [R, in] and "...lora_B.weight" [out, R]. Adapters saved here
// load in PEFT/vLLM; adapters trained there load here.
import fs from 'node:fs';
import path from 'node:path';
import { Tensor } from '../tensor/index.js';
import { openSafetensors, writeSafetensors } from '../io/safetensors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { Fields, readJsonObject, type Json } from '../io/json-fields.js';
import { ShitateError } from '../errors.js';
import { attachLoraWeights, type HasLinears, type LoraSet } from './attach.js';
import type { LoraConfig } from './config.js';

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
    rank_pattern: {},
    alpha_pattern: {},
  };
}

/** Parses adapter_config.json, refusing the PEFT features this engine does not implement. */
export function parsePeftConfig(obj: Json, file: string): LoraConfig {
  const f = new Fields(file, obj);
  const refuse = (what: string, found: unknown) =>
    new ShitateError('E_ADAPTER', `${file}: ${what} is not supported, found ${JSON.stringify(found)}`,
      'train the adapter as plain LoRA (peft_type LORA, bias "none", no DoRA, no rank/alpha patterns, no modules_to_save)');
  if (obj.peft_type !== 'LORA') throw refuse('peft_type other than "LORA"', obj.peft_type);
  if (obj.use_dora === true) throw refuse('DoRA (use_dora)', true);
  if (obj.bias !== undefined && obj.bias !== 'none') throw refuse('bias training', obj.bias);
  if (obj.fan_in_fan_out === true) throw refuse('fan_in_fan_out (GPT-2 style Conv1D)', true);
  if (Array.isArray(obj.modules_to_save) && obj.modules_to_save.length > 0) throw refuse('modules_to_save', obj.modules_to_save);
  for (const k of ['rank_pattern', 'alpha_pattern']) {
    const v = obj[k];
    if (v && typeof v === 'object' && Object.keys(v).length > 0) throw refuse(k, v);
  }
  const tm = obj.target_modules;
  const targetModules = tm === 'all-linear' ? 'all-linear' : Array.isArray(tm) ? tm.map(String) : typeof tm === 'string' ? [tm] : [];
  return {
    r: f.posInt('r'),
    alpha: f.posNum('lora_alpha'),
    dropout: f.optNum('lora_dropout') ?? 0,
    targetModules,
    useRslora: f.bool('use_rslora', false),
  };
}

/** Loads a PEFT LoRA adapter folder onto the model (weights become f32; A/B not trainable unless asked). */
export function loadAdapter(dir: string, model: HasLinears, trainable = false): LoraSet {
  const cfgFile = path.join(dir, ADAPTER_CONFIG);
  const config = parsePeftConfig(readJsonObject(cfgFile, 'an adapter folder holds adapter_config.json and adapter_model.safetensors'), cfgFile);
  const wFile = path.join(dir, ADAPTER_WEIGHTS);
  if (!fs.existsSync(wFile)) {
    const hasBin = fs.existsSync(path.join(dir, 'adapter_model.bin'));
    throw new ShitateError('E_NOT_FOUND', `expected ${wFile}, found ${hasBin ? 'only adapter_model.bin (pickle)' : 'nothing'}`,
      hasBin ? 'convert it to safetensors with PEFT (save_pretrained(..., safe_serialization=True)); pickle files are never loaded' : 'pass the folder that holds the adapter files');
  }
  const st = openSafetensors(wFile);
  const factors = new Map<string, { A: Tensor; B: Tensor }>();
  try {
    for (const [name, info] of st.header) {
      const m = /^base_model\.model\.(.+)\.lora_([AB])(?:\.[A-Za-z0-9_-]+)?\.weight$/.exec(name);
      if (!m) {
        throw new ShitateError('E_ADAPTER', `${wFile}: tensor "${name}" is not a LoRA factor`,
          'only plain LoRA adapters (lora_A/lora_B weights) are supported');
      }
      const t = Tensor.from(st.readF32(name), info.shape, trainable);
      const entry = factors.get(m[1]) ?? { A: t, B: t };
      if (m[2] === 'A') entry.A = t;
      else entry.B = t;
      factors.set(m[1], entry);
    }
  } finally {
    st.close();
  }
  for (const [name, f] of factors) {
    if (f.A === f.B) {
      throw new ShitateError('E_ADAPTER', `${wFile}: "${name}" has only one of lora_A / lora_B`, 'the adapter file is incomplete; save it again');
    }
  }
  return attachLoraWeights(model, config, factors);
}

/** Writes adapter_config.json and adapter_model.safetensors (f32) atomically into dir. */
export function saveAdapter(dir: string, set: LoraSet, baseModel: string, extraFiles: Record<string, string> = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, ADAPTER_WEIGHTS),
    set.params().map(({ name, tensor }) => ({ name, shape: [...tensor.shape], dtype: 'F32' as const, data: tensor.data })),
    { format: 'pt' });
  writeFileAtomic(path.join(dir, ADAPTER_CONFIG), JSON.stringify(loraConfigToPeft(set.config, baseModel), null, 2) + '\n');
  for (const [name, text] of Object.entries(extraFiles)) writeFileAtomic(path.join(dir, name), text);
}
