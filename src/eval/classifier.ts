// A text classifier ready to use: an encoder folder with either its own fine-tuned head (a
// ...ForSequenceClassification checkpoint; labels from config.json's id2label) or a SEQ_CLS adapter on it (LoRA +
// head as modules_to_save; labels from its labels.json), its tokenizer, and prediction with probabilities.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { findEncoderFamily, loadEncoder, loadEncoderConfig } from '../models/encoder-load.js';
import { loadEncoderTokenizer, textEncoder, type TextEncoder } from '../models/encoder-text.js';
import type { EncoderModel } from '../models/encoder-types.js';
import { predictLogits } from '../models/encoder-predict.js';
import { loadSeqClsAdapter, readSeqClsInfo } from '../lora/seq-cls.js';
import { argmaxRows, softmaxRows } from '../train/classify-metrics.js';

export interface Classifier {
  model: EncoderModel;
  text: TextEncoder;
  /** label names by class id */
  labels: string[];
  /** texts per label in the adapter's training data, when it recorded them */
  trainCounts: number[] | null;
  /** what was loaded, for reports */
  source: string;
}

export interface Prediction {
  label: string;
  /** class id */
  id: number;
  /** probability of the predicted label */
  score: number;
  /** probability per label, in label order */
  probs: number[];
  logits: number[];
}

function trainCountsOf(adapterDir: string): number[] | null {
  const file = path.join(adapterDir, 'shitate.json');
  if (!fs.existsSync(file)) return null;
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { trainCounts?: unknown };
  return Array.isArray(j.trainCounts) ? j.trainCounts.map(Number) : null;
}

export function openClassifier(modelDir: string, adapterDir: string | null, opts: { maxLength?: number; onNote?: (m: string) => void } = {}): Classifier {
  const c = loadEncoderConfig(modelDir);
  const fam = findEncoderFamily(c.modelType)!;
  const note = opts.onNote ?? ((m: string) => process.stderr.write(`shitate: ${m}\n`));
  const text = (config: typeof c) => textEncoder(loadEncoderTokenizer(modelDir), config, opts.maxLength);
  if (adapterDir) {
    const info = readSeqClsInfo(adapterDir, fam.classifierWeight);
    const { model, config } = loadEncoder(modelDir, { numLabels: info.numLabels, onNote: note });
    loadSeqClsAdapter(adapterDir, model, { baseDir: modelDir, onWarning: (m) => note(`warning: ${m}`) });
    const labels = info.labels ?? Array.from({ length: info.numLabels }, (_, i) => `LABEL_${i}`);
    return { model, text: text(config), labels, trainCounts: trainCountsOf(adapterDir), source: `${path.basename(path.resolve(modelDir))} + ${adapterDir}` };
  }
  const { model, config } = loadEncoder(modelDir, { head: true, onNote: note });
  if (model.numLabels < 2) {
    throw new ShitateError('E_UNSUPPORTED_MODEL', `${modelDir}: expected a classifier of two or more labels, found a head of ${model.numLabels} output (a regression model)`,
      'regression heads are not supported; classify with a model fine-tuned for classification or a `train --task classify` adapter');
  }
  const labels = config.labels ?? Array.from({ length: model.numLabels }, (_, i) => `LABEL_${i}`);
  return { model, text: text(config), labels, trainCounts: null, source: modelDir };
}

/** One prediction per text, in order. */
export function classify(cl: Classifier, texts: readonly string[], batchTokens?: number): Prediction[] {
  const K = cl.labels.length;
  const logits = predictLogits(cl.model, cl.text, texts.map((t) => cl.text.ids(t)), batchTokens);
  const probs = softmaxRows(logits, K);
  return argmaxRows(logits, K).map((id, i) => ({
    label: cl.labels[id], id, score: probs[i * K + id],
    probs: Array.from(probs.subarray(i * K, (i + 1) * K)), logits: Array.from(logits.subarray(i * K, (i + 1) * K)),
  }));
}
