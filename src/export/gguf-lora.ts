// `export --format gguf-lora`: a PEFT LoRA adapter as a GGUF adapter that llama.cpp's --lora and Ollama's
// ADAPTER load on a GGUF of the same base (convert_lora_to_gguf.py's layout): general.type "adapter",
// adapter.type "lora", adapter.lora.alpha, and per adapted matrix "<gguf name>.lora_a" [in, r] and ".lora_b"
// [r, out] (GGUF order), B's rows permuted like the base's q/k rows where llama.cpp wants interleaved RoPE.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { readJsonObject } from '../io/json-fields.js';
import { openSafetensors } from '../io/safetensors.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, loraScaling, parsePeftConfig } from '../lora/index.js';
import { currentName, findFamily, loadModelConfig, parameterTable, tableTensors } from '../models/index.js';
import { archTensorName, ggufArchOf, permuteRows, qkHeads, reorderColumns, reorderRows } from './gguf-arch.js';
import { encodeTensor } from './gguf-quants.js';
import { GgmlType } from './gguf-types.js';
import { writeGguf, type GgufMetadata, type GgufTensor } from './gguf-writer.js';
import { hyperParameters } from './gguf-export.js';

export const LORA_QUANTS = ['f32', 'f16', 'bf16'] as const;
export type LoraQuant = (typeof LORA_QUANTS)[number];
const TYPE_OF: Record<LoraQuant, GgmlType> = { f32: GgmlType.F32, f16: GgmlType.F16, bf16: GgmlType.BF16 };

export interface GgufLoraOptions {
  model: string;
  adapter: string;
  out: string;
  quant?: LoraQuant;
  overwrite?: boolean;
}

export interface GgufLoraResult {
  file: string;
  arch: string;
  layers: number;
  rank: number;
  /** adapter.lora.alpha as written: scaling * r, so llama.cpp's alpha / r is PEFT's scaling (rsLoRA too) */
  alpha: number;
}

interface Factor { A?: string; B?: string; shapeA?: number[]; shapeB?: number[] }

function factorsOf(names: Map<string, { shape: number[] }>, file: string): Map<string, Factor> {
  const out = new Map<string, Factor>();
  for (const [name, info] of names) {
    const m = /^base_model\.model\.(.+)\.lora_([AB])(?:\.[A-Za-z0-9_-]+)?\.weight$/.exec(name);
    if (!m) {
      throw new ShitateError('E_ADAPTER', `${file}: tensor "${name}" is not a LoRA factor of a linear layer`,
        'only plain LoRA on the decoder projections exports to GGUF; merge the adapter (`--format gguf --adapter DIR`) instead');
    }
    const f = out.get(m[1]) ?? {};
    if (m[2] === 'A') [f.A, f.shapeA] = [name, info.shape];
    else [f.B, f.shapeB] = [name, info.shape];
    out.set(m[1], f);
  }
  return out;
}

export function exportGgufLora(o: GgufLoraOptions): GgufLoraResult {
  if (!o.overwrite && fs.existsSync(o.out)) throw new ShitateError('E_OUT_EXISTS', `${o.out} already exists`, 'choose a new --out file, or pass --force to replace it');
  const c = loadModelConfig(o.model);
  const arch = ggufArchOf(c);
  const cfgFile = path.join(o.adapter, ADAPTER_CONFIG);
  const lora = parsePeftConfig(readJsonObject(cfgFile, 'an adapter folder holds adapter_config.json and adapter_model.safetensors'), cfgFile);
  // llama.cpp scales every matrix by one alpha over that matrix's rank: per-module alphas, or ranks that differ under
  // rsLoRA (alpha / sqrt(r)), have no GGUF adapter form
  if (lora.alphaPattern || (lora.rankPattern && lora.useRslora)) {
    throw new ShitateError('E_ADAPTER', `${cfgFile}: a GGUF adapter expected one alpha for every matrix (llama.cpp scales each by alpha / its rank), found ${lora.alphaPattern ? 'alpha_pattern (an alpha per module)' : 'rank_pattern with use_rslora (alpha / sqrt(r))'}`,
      'merge the adapter into the model instead (`--format gguf --adapter DIR`)');
  }
  const wFile = path.join(o.adapter, ADAPTER_WEIGHTS);
  if (!fs.existsSync(wFile)) throw new ShitateError('E_NOT_FOUND', `expected ${wFile}, found nothing`, 'pass the folder that holds the adapter files');
  const shapes = new Map(tableTensors(parameterTable(c)).map((t) => [t.name, t.shape]));
  const st = openSafetensors(wFile);
  try {
    const factors = factorsOf(st.header, wFile);
    const type = TYPE_OF[o.quant ?? 'f32'];
    const tensors: GgufTensor[] = [];
    let rank = 0;
    // PEFT's module path may differ from the stored one (Qwen3.5's wrapper: model.layers.* for model.language_model.*)
    const renames = findFamily(c.modelType)?.renames ?? [];
    for (const [linear, f] of factors) {
      const weight = currentName(`${linear}.weight`, renames);
      const base = shapes.get(weight);
      const gguf = archTensorName(arch, weight);
      if (!f.A || !f.B || !f.shapeA || !f.shapeB) throw new ShitateError('E_ADAPTER', `${wFile}: "${linear}" has only one of lora_A / lora_B`, 'the adapter file is incomplete; save it again');
      if (!base || !gguf || gguf === 'token_embd.weight' || gguf === 'output.weight') {
        throw new ShitateError('E_ADAPTER', `${wFile}: LoRA on "${linear}" has no GGUF adapter form for this base`,
          'GGUF adapters cover the attention and MLP projections; merge this adapter into the model (`--format gguf --adapter DIR`) instead');
      }
      const [r, inp] = f.shapeA;
      const [out] = f.shapeB;
      if (inp !== base[1] || out !== base[0] || f.shapeB[1] !== r) {
        throw new ShitateError('E_ADAPTER', `${wFile}: "${linear}" factors [${f.shapeA}] and [${f.shapeB}] do not fit the base's [${base}]`, 'the adapter was trained on another base; pass the base it was trained on');
      }
      rank = r;
      const heads = arch.permuteQK ? qkHeads(weight, c) : null;
      const order = arch.rowOrder?.(weight, c) ?? null;
      const cols = arch.colOrder?.(weight, c) ?? null;
      const [aName, bName] = [f.A, f.B];
      tensors.push(
        { name: `${gguf}.lora_a`, ne: [inp, r], type, data: () => {
          const a = st.readF32(aName);
          return encodeTensor(type, cols ? reorderColumns(a, cols) : a, inp);
        } },
        { name: `${gguf}.lora_b`, ne: [r, out], type, data: () => {
          let b = st.readF32(bName);
          if (order) b = reorderRows(b, order, r);
          return encodeTensor(type, heads === null ? b : permuteRows(b, heads, out, r), r);
        } },
      );
    }
    if (tensors.length === 0) throw new ShitateError('E_ADAPTER', `${wFile}: no LoRA factors found`, 'pass a trained adapter folder');
    const alpha = loraScaling({ ...lora, r: rank }) * rank;
    const meta: GgufMetadata = [
      ['general.architecture', { type: 'string', value: arch.arch }],
      ['general.type', { type: 'string', value: 'adapter' }],
      ['general.name', { type: 'string', value: path.basename(path.resolve(o.adapter)) }],
      ['adapter.type', { type: 'string', value: 'lora' }],
      ['adapter.lora.alpha', { type: 'f32', value: alpha }],
      ['general.quantization_version', { type: 'u32', value: 2 }],
      // the base's hyper-parameters too, as convert_lora_to_gguf.py writes them (file_type is the factors')
      ...hyperParameters(c, arch, o.quant ?? 'f32'),
    ];
    writeGguf(o.out, meta, tensors);
    return { file: o.out, arch: arch.arch, layers: factors.size, rank, alpha };
  } finally {
    st.close();
  }
}
