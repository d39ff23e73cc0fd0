// Writes a model back out as a complete Hugging Face folder: weights under their HF names in the base's
// dtype, plus every config/tokenizer/licence file of the base folder. Used by merge and full fine-tuning.
import fs from 'node:fs';
import path from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../io/safetensors.js';
import { openCheckpoint } from '../io/checkpoint.js';
import type { FloatDtype } from '../io/safetensors-header.js';
import { ShitateError } from '../errors.js';
import { familyOf, loadModelConfig } from './registry.js';
import { renamedCheckpoint } from './renames.js';
import type { CausalLM, NamedTensor } from './types.js';

/** Every weight of the model under its HF name (the family's parameter table decides which and how named). */
export function namedWeights(model: Pick<CausalLM, 'namedWeights'>): NamedTensor[] {
  return model.namedWeights();
}

/** The dtype the base checkpoint stores its embedding in (what a merged model is written in); the embedding may
 *  sit under a multimodal wrapper's prefix (model.language_model.embed_tokens.weight). */
export function baseDtype(baseDir: string): FloatDtype {
  const ck = openCheckpoint(baseDir);
  try {
    const name = ck.tensors.has('model.embed_tokens.weight') ? 'model.embed_tokens.weight'
      : [...ck.tensors.keys()].find((n) => /(^|\.)embed_tokens\.weight$/.test(n));
    const d = name === undefined ? undefined : ck.tensors.get(name)?.dtype;
    return d === 'BF16' || d === 'F16' ? d : 'F32';
  } finally {
    ck.close();
  }
}

/** Base tensors outside the language model that a merged folder keeps as they are (a multimodal wrapper's
 *  vision tower), as the family declares them. */
function carriedTensors(baseDir: string, written: Set<string>, dtype: FloatDtype): TensorToWrite[] {
  const config = loadModelConfig(baseDir);
  const family = familyOf(config);
  const patterns = family.carriedTensors?.(config) ?? [];
  if (patterns.length === 0) return [];
  const ck = renamedCheckpoint(openCheckpoint(baseDir), family.renames);
  try {
    return [...ck.tensors.entries()].filter(([name]) => !written.has(name) && patterns.some((re) => re.test(name)))
      .map(([name, t]) => ({ name, shape: [...t.shape], dtype, data: ck.readF32(name) }));
  } finally {
    ck.close();
  }
}

const WEIGHT_FILE = /(\.safetensors|\.bin|\.pt|\.pth|\.gguf|\.safetensors\.index\.json|\.bin\.index\.json)$/;

/** Writes `dir` (which must not exist or be empty) via a temporary folder renamed into place. */
export function saveModelFolder(dir: string, model: Pick<CausalLM, 'namedWeights'>, baseDir: string, dtype: FloatDtype): void {
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    throw new ShitateError('E_OUT_EXISTS', `output folder ${dir} already exists and is not empty`, 'choose a new --out folder; existing files are never overwritten');
  }
  const tmp = `${dir.replace(/\/+$/, '')}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  for (const f of fs.readdirSync(baseDir)) {
    const src = path.join(baseDir, f);
    if (fs.statSync(src).isFile() && !WEIGHT_FILE.test(f)) fs.copyFileSync(src, path.join(tmp, f));
  }
  const own = namedWeights(model).map(({ name, tensor }) => ({ name, shape: [...tensor.shape], dtype, data: tensor.data }));
  writeSafetensors(path.join(tmp, 'model.safetensors'), [...own, ...carriedTensors(baseDir, new Set(own.map((t) => t.name)), dtype)], { format: 'pt' });
  if (fs.existsSync(dir)) fs.rmdirSync(dir);
  fs.renameSync(tmp, dir);
}
