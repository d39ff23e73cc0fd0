// Sequence-classification adapters as PEFT writes them for task_type SEQ_CLS: LoRA factors on the encoder plus the
// classification head saved whole under modules_to_save ("base_model.model.classifier.weight", ...; PEFT drops its
// "modules_to_save.default." wrapper from the saved names), and the label names beside them (labels.json, which
// PEFT does not keep: pass them as id2label to AutoModelForSequenceClassification).
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { Tensor } from '../tensor/index.js';
import { openSafetensors, writeSafetensors } from '../io/safetensors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readJsonObject } from '../io/json-fields.js';
import type { EncoderModel } from '../models/encoder-types.js';
import { attachLoraWeights, type LoraSet } from './attach.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, loraConfigToPeft, parsePeftConfig } from './peft.js';
import { checkAdapterBase, writeBaseIdentity } from './adapter-base.js';

export const LABELS_FILE = 'labels.json';
const PREFIX = 'base_model.model.';
const FACTOR = /^base_model\.model\.(.+)\.lora_([AB])(?:\.[A-Za-z0-9_-]+)?\.weight$/;

/** The head's tensors that training changes, by HF name (what modules_to_save holds). */
export function trainedHeadWeights(model: EncoderModel): { name: string; tensor: Tensor }[] {
  return (model.head ?? []).filter((p) => p.trained).flatMap((p) => p.weights);
}

/** The PEFT module names of the trained head parts, as adapter_config.json lists them (PEFT adds "score" itself). */
export function modulesToSave(model: EncoderModel): string[] {
  const own = (model.head ?? []).filter((p) => p.trained).map((p) => p.module);
  return [...new Set([...own, 'classifier', 'score'])];
}

/** Writes adapter_config.json (SEQ_CLS), adapter_model.safetensors (LoRA factors + head), labels.json and
 *  base_model.json atomically into dir. */
export function saveSeqClsAdapter(dir: string, lora: LoraSet, model: EncoderModel, baseModel: string, labels: string[],
  extraFiles: Record<string, string> = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  const tensors = [...lora.params(), ...trainedHeadWeights(model).map((w) => ({ name: PREFIX + w.name, tensor: w.tensor }))];
  writeSafetensors(path.join(dir, ADAPTER_WEIGHTS), tensors.map(({ name, tensor }) => ({ name, shape: [...tensor.shape], dtype: 'F32' as const, data: tensor.data })),
    { format: 'pt' });
  const cfg = { ...loraConfigToPeft(lora.config, baseModel), task_type: 'SEQ_CLS', modules_to_save: modulesToSave(model) };
  writeFileAtomic(path.join(dir, ADAPTER_CONFIG), JSON.stringify(cfg, null, 2) + '\n');
  const id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
  const label2id = Object.fromEntries(labels.map((l, i) => [l, i]));
  writeFileAtomic(path.join(dir, LABELS_FILE), JSON.stringify({ num_labels: labels.length, id2label, label2id }, null, 2) + '\n');
  if (fs.existsSync(path.join(baseModel, 'config.json'))) writeBaseIdentity(dir, baseModel, baseModel);
  for (const [name, text] of Object.entries(extraFiles)) writeFileAtomic(path.join(dir, name), text);
}

export interface SeqClsAdapterInfo {
  /** label names by class id, from labels.json (null when the folder has none) */
  labels: string[] | null;
  /** the number of classes the saved classifier has */
  numLabels: number;
}

/** Reads labels.json and the classifier size of an adapter folder without loading a model. */
export function readSeqClsInfo(dir: string, classifierWeight: string): SeqClsAdapterInfo {
  const cfgFile = path.join(dir, ADAPTER_CONFIG);
  const raw = readJsonObject(cfgFile, 'an adapter folder holds adapter_config.json and adapter_model.safetensors');
  if (raw.task_type !== 'SEQ_CLS') {
    throw new ShitateError('E_ADAPTER', `${cfgFile}: expected task_type "SEQ_CLS" (a classification adapter), found ${JSON.stringify(raw.task_type)}`,
      'pass an adapter trained with `shitate train --task classify` (or PEFT with task_type="SEQ_CLS")');
  }
  const st = openSafetensors(path.join(dir, ADAPTER_WEIGHTS));
  let numLabels = 0;
  try {
    numLabels = st.header.get(PREFIX + classifierWeight)?.shape[0] ?? 0;
  } finally {
    st.close();
  }
  if (numLabels === 0) {
    throw new ShitateError('E_ADAPTER', `${dir}: expected the classifier "${PREFIX}${classifierWeight}" among the saved modules_to_save, found none`,
      'the adapter was saved without its classification head; train it with the classifier in modules_to_save');
  }
  const file = path.join(dir, LABELS_FILE);
  let labels: string[] | null = null;
  if (fs.existsSync(file)) {
    const j = readJsonObject(file, 'labels.json holds id2label');
    const map = j.id2label as Record<string, unknown> | undefined;
    labels = map ? Array.from({ length: numLabels }, (_, i) => String(map[String(i)] ?? `LABEL_${i}`)) : null;
  }
  return { labels, numLabels };
}

/** Attaches a SEQ_CLS adapter to a model loaded with a head of the adapter's size: LoRA factors on the linears, the
 *  saved head weights copied into the head. Every saved tensor must find its place. */
export function loadSeqClsAdapter(dir: string, model: EncoderModel, opts: { baseDir?: string; onWarning?: (m: string) => void } = {}): LoraSet {
  const cfgFile = path.join(dir, ADAPTER_CONFIG);
  const raw = readJsonObject(cfgFile, 'an adapter folder holds adapter_config.json and adapter_model.safetensors');
  const config = parsePeftConfig({ ...raw, modules_to_save: null }, cfgFile);
  const head = new Map((model.head ?? []).flatMap((p) => p.weights).map((w) => [w.name, w.tensor]));
  const factors = new Map<string, { A: Tensor; B: Tensor }>();
  const wFile = path.join(dir, ADAPTER_WEIGHTS);
  const st = openSafetensors(wFile);
  try {
    for (const [name, info] of st.header) {
      const m = FACTOR.exec(name);
      if (m) {
        const entry = factors.get(m[1]) ?? ({} as { A: Tensor; B: Tensor }); // both checked below
        entry[m[2] as 'A' | 'B'] = Tensor.from(st.readF32(name), info.shape);
        factors.set(m[1], entry);
        continue;
      }
      const target = name.startsWith(PREFIX) ? head.get(name.slice(PREFIX.length)) : undefined;
      if (!target || target.shape.length !== info.shape.length || target.shape.some((d, i) => d !== info.shape[i])) {
        throw new ShitateError('E_ADAPTER', `${wFile}: tensor "${name}" [${info.shape.join(', ')}] is neither a LoRA factor nor a weight of this model's classification head`,
          'the adapter was trained on another base model or with another number of labels; load it on the model it was trained for');
      }
      target.data.set(st.readF32(name));
    }
  } finally {
    st.close();
  }
  for (const [name, f] of factors) {
    if (!f.A || !f.B) throw new ShitateError('E_ADAPTER', `${wFile}: "${name}" has only one of lora_A / lora_B`, 'the adapter file is incomplete; save it again');
  }
  const set = attachLoraWeights(model, config, factors);
  const warn = opts.onWarning ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
  if (opts.baseDir) for (const m of checkAdapterBase(dir, opts.baseDir, typeof raw.base_model_name_or_path === 'string' ? raw.base_model_name_or_path : null)) warn(m);
  return set;
}
