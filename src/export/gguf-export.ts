// `export --format gguf`: a Hugging Face folder (with an adapter merged first when given) written as one GGUF v3
// file llama.cpp, Ollama and LM Studio load: llama.cpp's tensor names and hyper-parameter keys for the family,
// the tokenizer and special tokens, the model's own chat template, weights in the --quant preset's types.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError, assert } from '../errors.js';
import { loadGenerationConfig } from '../io/generation-config.js';
import { loadModelConfig, parameterTable, tableTensors, type ModelConfig } from '../models/index.js';
import { FALLBACK_CHAT_TEMPLATE, checkTokenizerFits, loadTokenizer, type Tokenizer } from '../tokenizer/index.js';
import { endOfTurnIds } from '../tokenizer/loss-mask.js';
import { archTensorName, ggufArchOf, permuteRows, qkHeads, reorderColumns, reorderRows, type GgufArch } from './gguf-arch.js';
import { checkQuantFits, chooseTypes, describeFallbacks } from './gguf-mix.js';
import { encodeTensor } from './gguf-quants.js';
import { checkpointSource, mergedSource, type TensorSource } from './gguf-source.js';
import { specialTokenMeta } from './gguf-special.js';
import { FILE_TYPE_OF, GgmlType, tensorBytes, type Quant } from './gguf-types.js';
import { kernels } from '../kernels/index.js';
import { openCheckpoint } from '../io/checkpoint.js';
import { vocabMetadata } from './gguf-vocab.js';
import { writeGguf, type GgufMetadata, type GgufTensor, type WriteProgress } from './gguf-writer.js';
import { llama3RopeFactors } from './gguf-rope.js';

export interface GgufExportOptions {
  model: string;
  adapter?: string | null;
  quant: Quant;
  out: string;
  /** replace an existing file (default: refuse) */
  overwrite?: boolean;
  progress?: WriteProgress;
}

export interface GgufExportResult {
  file: string;
  arch: string;
  bytes: number;
  tensors: number;
  tokenizerModel: 'gpt2' | 'llama';
  /** ids llama.cpp stops on */
  eog: number[];
  addBos: boolean;
  mergedLayers: number;
  notes: string[];
}

const u32 = (value: number) => ({ type: 'u32' as const, value });
const f32 = (value: number) => ({ type: 'f32' as const, value });

/** The {arch}.* hyper-parameters llama.cpp's loader reads (as convert_hf_to_gguf.py writes them). */
export function hyperParameters(c: ModelConfig, a: GgufArch, quant: Quant): GgufMetadata {
  const k = a.arch;
  const meta: GgufMetadata = [
    [`${k}.block_count`, u32(c.numLayers)],
    [`${k}.context_length`, u32(c.maxPositions)],
    [`${k}.embedding_length`, u32(c.hiddenSize)],
    [`${k}.feed_forward_length`, u32(c.intermediateSize)],
    [`${k}.attention.head_count`, u32(c.numHeads)],
    [`${k}.attention.head_count_kv`, u32(c.numKvHeads)],
    [`${k}.attention.${a.layerNorm ? 'layer_norm_epsilon' : 'layer_norm_rms_epsilon'}`, f32(c.rmsNormEps)],
  ];
  // ALiBi models (BLOOM) have no rotary base to give
  if (c.ropeLayers.some((r) => r)) meta.push([`${k}.rope.freq_base`, f32(c.ropeTheta)]);
  // llama.cpp derives the head size as hidden / heads when these are absent; always saying it is never wrong
  meta.push([`${k}.attention.key_length`, u32(c.headDim)], [`${k}.attention.value_length`, u32(c.headDim)]);
  if (c.ropeScaling?.type === 'linear') {
    meta.push([`${k}.rope.scaling.type`, { type: 'string', value: 'linear' }], [`${k}.rope.scaling.factor`, f32(c.ropeScaling.factor)]);
  }
  if (a.llamaKeys) meta.push([`${k}.vocab_size`, u32(c.vocabSize)], [`${k}.rope.dimension_count`, u32(c.headDim)]);
  // an arch's own value for a shared key (LFM2's per-layer kv head counts) replaces the shared one
  const extra = a.extra(c);
  const own = new Set(extra.map(([key]) => key));
  return [...meta.filter(([key]) => !own.has(key)), ...extra, ['general.file_type', u32(FILE_TYPE_OF[quant])]];
}

/** A tensor to write: from the checkpoint (hf) or computed (values). */
interface PlannedTensor { hf: string | null; gguf: string; ne: number[]; values?: Float32Array }

/** The tensors in convert_hf_to_gguf's order: generated ones first, then each shard's names sorted (what
 *  safetensors lists). The order matters beyond the file layout: llama-quantize counts attn_v and ffn_down
 *  tensors in file order when it picks the layers that get Q6_K. `shardOf` gives a tensor's shard index. */
function planTensors(c: ModelConfig, arch: GgufArch, shardOf: (hf: string) => number = () => 0): PlannedTensor[] {
  const planned = tableTensors(parameterTable(c)).map(({ name, shape }): PlannedTensor => {
    const gguf = archTensorName(arch, name);
    assert(gguf !== null, `no GGUF name for ${name}`);
    const ne = [...shape].reverse();
    return { hf: name, gguf, ne: arch.squeeze?.test(name) ? ne.filter((n) => n !== 1) : ne };
  });
  planned.sort((a, b) => shardOf(a.hf!) - shardOf(b.hf!) || (a.hf! < b.hf! ? -1 : a.hf! > b.hf! ? 1 : 0));
  const generated = c.ropeScaling?.type === 'llama3' && arch.llamaKeys ? [{ name: 'rope_freqs.weight', values: llama3RopeFactors(c) }] : arch.generated?.(c) ?? [];
  return [...generated.map((g) => ({ hf: null, gguf: g.name, ne: [g.values.length], values: g.values })), ...planned];
}

/** Shard index of each checkpoint tensor (0 for a single file; a tensor the base lacks, such as an untied
 *  head, goes last). */
function shardIndex(dir: string): (hf: string) => number {
  const ck = openCheckpoint(dir);
  try {
    const files = ck.files;
    const at = new Map([...ck.tensors].map(([name, t]) => [name, files.indexOf(t.file)]));
    return (hf) => at.get(hf) ?? files.length;
  } finally {
    ck.close();
  }
}

/** The chat template llama.cpp should format with: the model's own, or the plain format shitate trains with
 *  when the model ships none (its bos switch fixed to what the tokenizer does). */
function chatTemplate(tok: Tokenizer, addBos: boolean): string {
  return tok.chatTemplate ?? FALLBACK_CHAT_TEMPLATE.replace('add_bos_token and bos_token', addBos ? 'bos_token' : 'false');
}

function refuseExisting(out: string, overwrite: boolean): void {
  if (!overwrite && fs.existsSync(out)) {
    throw new ShitateError('E_OUT_EXISTS', `${out} already exists`, 'choose a new --out file, or pass --force to replace it');
  }
}

export function exportGguf(o: GgufExportOptions): GgufExportResult {
  refuseExisting(o.out, o.overwrite ?? false);
  const c = loadModelConfig(o.model);
  const arch = ggufArchOf(c);
  if (c.ropeScaling?.type === 'llama3' && !arch.llamaKeys) {
    throw new ShitateError('E_EXPORT_UNSUPPORTED', `gguf: llama3 RoPE scaling on model_type ${c.modelType} has no llama.cpp form`, 'serve this model with `shitate serve` or vLLM');
  }
  checkQuantFits(o.quant, c.hiddenSize);
  const tok = loadTokenizer(o.model);
  checkTokenizerFits(tok, c.vocabSize, o.model);
  const needed = tableTensors(parameterTable(c)).map((t) => t.name);
  const source: TensorSource = o.adapter ? mergedSource(o.model, o.adapter) : checkpointSource(o.model, needed);
  try {
    return writeModel(o, source.untied ? { ...c, tieWordEmbeddings: false } : c, arch, tok, source);
  } finally {
    source.close();
  }
}

function writeModel(o: GgufExportOptions, c: ModelConfig, arch: GgufArch, tok: Tokenizer, source: TensorSource): GgufExportResult {
  const vocab = vocabMetadata(o.model, tok, c.vocabSize);
  const gen = loadGenerationConfig(o.model);
  const eot = endOfTurnIds(tok)[0] ?? null;
  const special = specialTokenMeta(o.model, tok, vocab.tokens, [...gen.eosTokenIds, ...c.eosTokenIds], eot);
  const planned = planTensors(c, arch, shardIndex(o.model));
  const choices = chooseTypes(o.quant, planned.map((p) => ({ name: p.gguf, ne: p.ne })), arch.arch);
  const notes = [...special.notes, ...describeFallbacks(planned.map((p) => ({ name: p.gguf, ne: p.ne })), choices)];
  const left = arch.leavesOut?.(c);
  if (left) notes.push(`left out: ${left}`);
  const caveat = arch.caveat?.(c);
  if (caveat) notes.push(caveat);
  if (c.slidingWindow !== null && c.slidingWindow < c.maxPositions && !arch.slidingWindow) {
    notes.push(`llama.cpp attends over the whole context where this model slides a ${c.slidingWindow}-token window: replies to prompts longer than that may differ`);
  }
  const meta: GgufMetadata = [
    ['general.architecture', { type: 'string', value: arch.arch }],
    ['general.type', { type: 'string', value: 'model' }],
    ['general.name', { type: 'string', value: path.basename(path.resolve(o.adapter ?? o.model)) }],
    ['general.quantization_version', u32(2)],
    ...hyperParameters(c, arch, o.quant),
    ...vocab.meta,
    ...special.meta,
    ['tokenizer.chat_template', { type: 'string', value: chatTemplate(tok, special.addBos) }],
  ];
  const tensors: GgufTensor[] = planned.map((p, i) => ({
    name: p.gguf, ne: p.ne, type: choices[i].type,
    data: () => encodeTensor(choices[i].type, throughF16(o.quant, choices[i].type, tensorValues(p, c, arch, source)), p.ne[0]),
  }));
  writeGguf(o.out, meta, tensors, o.progress);
  return {
    file: o.out, arch: arch.arch, bytes: fs.statSync(o.out).size, tensors: tensors.length, tokenizerModel: vocab.model,
    eog: special.eog, addBos: special.addBos, mergedLayers: source.mergedLayers, notes,
  };
}

/** llama-quantize reads the F16 GGUF convert_hf_to_gguf writes by default: K-quants and their fallbacks are
 *  computed from f16-rounded weights, so the bytes equal that pipeline's. */
function throughF16(quant: Quant, type: GgmlType, x: Float32Array): Float32Array {
  if (quant !== 'q4_k_m' || type === GgmlType.F32) return x;
  const h = new Uint16Array(x.length);
  const k = kernels();
  k.f32ToF16(h, x, x.length);
  const y = new Float32Array(x.length);
  k.f16ToF32(y, h, x.length);
  return y;
}

function tensorValues(p: PlannedTensor, c: ModelConfig, a: GgufArch, source: TensorSource): Float32Array {
  if (p.hf === null) return p.values ?? new Float32Array(p.ne[0]);
  let x = source.get(p.hf);
  if (a.transform) x = a.transform(p.hf, x, c);
  if (a.normShift && p.hf.endsWith('norm.weight')) x = x.map((v) => v + (a.normShift ?? 0));
  const width = p.ne.length === 1 ? 1 : p.ne[0];
  const order = a.rowOrder?.(p.hf, c) ?? null;
  if (order) x = reorderRows(x, order, width);
  const cols = a.colOrder?.(p.hf, c) ?? null;
  if (cols) x = reorderColumns(x, cols);
  const heads = a.permuteQK ? qkHeads(p.hf, c) : null;
  return heads === null ? x : permuteRows(x, heads, p.ne[p.ne.length - 1], width);
}

/** Bytes the tensors of `quant` would take (for estimates before writing). */
export function ggufTensorBytes(c: ModelConfig, quant: Quant): number {
  const arch = ggufArchOf(c);
  const planned = planTensors(c, arch);
  const choices = chooseTypes(quant, planned.map((p) => ({ name: p.gguf, ne: p.ne })), arch.arch);
  return planned.reduce((s, p, i) => s + tensorBytes(choices[i].type, p.ne), 0);
}
