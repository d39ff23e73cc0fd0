// `train --task classify` end to end: an encoder folder gets LoRA on its linears and a sequence-classification head
// (fresh, or the checkpoint's pretrained parts), trained on {"text", "label"} JSONL in the shared loop with the
// same run folder, lock, checkpoints, exact resume, metrics.jsonl, early stopping (on validation macro-F1) and
// best weights as SFT; the result is a PEFT SEQ_CLS adapter (head as modules_to_save, labels.json).
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readJsonObject } from '../io/json-fields.js';
import { loadEncoder } from '../models/encoder-load.js';
import { loadEncoderTokenizer, textEncoder, type TextEncoder } from '../models/encoder-text.js';
import type { EncoderModel } from '../models/encoder-types.js';
import { attachLora, type LoraSet } from '../lora/index.js';
import { saveSeqClsAdapter, trainedHeadWeights } from '../lora/seq-cls.js';
import { AdamW, type NamedParam } from './optimizer.js';
import { loadTrainingCheckpoint, replaceDir, saveTrainingCheckpoint, type TrainerState } from './checkpoint.js';
import { stepsPerEpochOf, trainLoop, type TrainEvent } from './trainer.js';
import { appendMetric, lossCurves, trimMetrics } from './metrics-log.js';
import { BEST_FILE, CHECKPOINTS, inRunFolder } from './run-folder.js';
import { writeRunConfig } from './state-file.js';
import { lossCurveSvg } from './plot.js';
import { classWeightsFor, labelCounts, loadClassifyData, type LabeledText } from './classify-data.js';
import { classifyObjective, scoreClassifier, type EncodedText } from './classify-objective.js';
import type { BatchOptions } from './batching.js';
import type { TrainConfig } from './config.js';
import { defaultRunDir, type RunOptions, type RunResult } from './session.js';

/** The run's label list, fixed at its start (a resume must classify into the same ids). */
export const RUN_LABELS = 'labels.json';

/** Texts per micro-batch when batch_tokens is left at its default (as a batch size of 16 would). */
const DEFAULT_TEXTS_PER_BATCH = 16;

function savedLabels(runDir: string): string[] | null {
  const file = path.join(runDir, RUN_LABELS);
  if (!fs.existsSync(file)) return null;
  const labels = readJsonObject(file, 'it is written when the run starts').labels;
  return Array.isArray(labels) ? labels.map(String) : null;
}

function checkMethod(c: TrainConfig): void {
  if (c.method !== 'lora') {
    throw new ShitateError('E_USAGE', `train --task classify: expected --method lora, found ${c.method}`,
      'classification trains LoRA adapters on the encoder plus the classification head; leave --method out');
  }
}

/** LoRA factors and the head's trained tensors under their PEFT names; biases and norms without weight decay. */
function trainable(model: EncoderModel, lora: LoraSet): NamedParam[] {
  const head = trainedHeadWeights(model).map((w) => ({ name: `base_model.model.${w.name}`, tensor: w.tensor, decay: !/(\.bias|norm\.weight|LayerNorm\.weight)$/.test(w.name) }));
  const params: NamedParam[] = [...lora.params().map((p) => ({ name: p.name, tensor: p.tensor })), ...head];
  for (const p of params) p.tensor.requiresGrad = true;
  return params;
}

function encode(rows: LabeledText[], text: TextEncoder, labels: readonly string[]): EncodedText[] {
  const id = new Map(labels.map((l, i) => [l, i]));
  return rows.map((r) => ({ ids: text.ids(r.text), label: id.get(r.label)! }));
}

export async function runClassifyTraining(o: RunOptions): Promise<RunResult> {
  checkMethod(o.config);
  const emit = o.onEvent ?? (() => {});
  return inRunFolder(o.config.out ?? defaultRunDir(), o.resume ?? false, (message) => emit({ type: 'note', message }),
    (dir, fromCheckpoint) => classifyIn(dir, fromCheckpoint, o, emit));
}

async function classifyIn(runDir: string, fromCheckpoint: boolean, o: RunOptions, emit: (e: TrainEvent) => void): Promise<RunResult> {
  const c = { ...o.config, out: runDir };
  const sources = writeRunConfig(runDir, c, o.sources, o.resume ?? false);
  const data = loadClassifyData(c, o.resume ? savedLabels(runDir) : null);
  writeFileAtomic(path.join(runDir, RUN_LABELS), JSON.stringify({ labels: data.labels }, null, 2) + '\n');
  for (const n of data.notes) emit({ type: 'note', message: n });
  if (c.precision !== 'fp32') emit({ type: 'warning', message: `precision ${c.precision} is not used for classification: it trains in fp32` });
  const counts = labelCounts(data.train, data.labels);
  const { weights, note } = classWeightsFor(c.classWeights, counts, data.labels);
  emit({ type: 'note', message: `${data.labels.length} labels, ${data.train.length} training texts; ${note}` });
  const { model, config: mc } = loadEncoder(c.model, { numLabels: data.labels.length, seed: c.seed, onNote: (message) => emit({ type: 'note', message }) });
  const text = textEncoder(loadEncoderTokenizer(c.model), mc, c.maxSeqLen);
  const train = encode(data.train, text, data.labels);
  const val = encode(data.val, text, data.labels);
  const longest = Math.max(...train.map((e) => e.ids.length));
  const batchTokens = sources.batchTokens && sources.batchTokens !== 'default' ? c.batchTokens : Math.min(c.batchTokens, DEFAULT_TEXTS_PER_BATCH * longest);
  const batch: BatchOptions = { batchTokens: Math.max(batchTokens, longest), packing: false, groupByLength: c.groupByLength, maxSeqLen: text.maxLength, padId: 0 };
  const targets = c.targetModules.length === 1 && c.targetModules[0] === 'all-linear' ? 'all-linear' : c.targetModules;
  const lora = attachLora(model, { r: c.loraR, alpha: c.loraAlpha, dropout: c.loraDropout, targetModules: targets, useRslora: c.useRslora }, c.seed);
  const params = trainable(model, lora);
  const opt = new AdamW(params, { lr: c.learningRate, beta1: c.adamBeta1, beta2: c.adamBeta2, eps: c.adamEps, weightDecay: c.weightDecay });
  const ckDir = path.join(runDir, CHECKPOINTS);
  const metricsFile = path.join(runDir, 'metrics.jsonl');
  let resume: TrainerState | null = null;
  if (fromCheckpoint) {
    resume = loadTrainingCheckpoint(path.join(ckDir, 'last'), params, opt);
    if (c.maxSteps !== null && c.maxSteps < resume.step) {
      throw new ShitateError('E_RESUME', `max_steps ${c.maxSteps}: expected at least the ${resume.step} steps this run has already trained`,
        `pass --max-steps ${resume.step + 1} or more, or leave it out to keep the run's own length`);
    }
    if (trimMetrics(metricsFile, resume.step).torn) emit({ type: 'note', message: 'metrics.jsonl ended in a line cut short by the interruption; it was dropped' });
  }
  const baseModel = path.resolve(c.model);
  const writeWeights = (dir: string) => saveSeqClsAdapter(dir, lora, model, baseModel, data.labels,
    { 'shitate.json': JSON.stringify({ task: 'classify', labels: data.labels, trainCounts: counts, config: c }, null, 2) + '\n' });
  const objective = classifyObjective(model, text, train, val, data.labels, weights, batch);
  // validation once per epoch unless set (as transformers' Trainer does for classification): a few steps in, the
  // scores of a head still finding its labels say little, and patience would run out before it does
  const loopConfig = { ...c, evalEvery: c.evalEvery ?? stepsPerEpochOf(objective.lengths, c, batch) };
  const state = await trainLoop({ params, objective, config: loopConfig, batch, resume, opt }, {
    onEvent: (e) => {
      appendMetric(metricsFile, e);
      emit(e);
    },
    saveLast: (s) => saveTrainingCheckpoint(path.join(ckDir, 'last'), params, opt, s),
    saveBest: (s) => replaceDir(path.join(ckDir, 'best'), (tmp) => {
      writeWeights(tmp);
      writeFileAtomic(path.join(tmp, BEST_FILE), JSON.stringify({ step: s.step, valLoss: s.earlyStop.bestLoss ?? s.earlyStop.best, macroF1: 1 - s.earlyStop.best }) + '\n');
    }),
    stopRequested: o.stopRequested ?? (() => false),
    setTraining: (on, seed) => {
      lora.setTraining(on, seed);
      model.setTraining(on, seed);
    },
  });
  const adapterDir = path.join(runDir, 'adapter');
  const best = path.join(ckDir, 'best');
  replaceDir(adapterDir, (tmp) => (fs.existsSync(best) ? fs.cpSync(best, tmp, { recursive: true }) : writeWeights(tmp)));
  const curves = lossCurves(metricsFile);
  writeFileAtomic(path.join(runDir, 'loss.svg'), lossCurveSvg(curves.train, curves.val, `shitate train --task classify — ${path.basename(c.model)}`));
  const es = state.earlyStop;
  const last = val.length > 0 ? scoreClassifier(model, text, val, data.labels, weights, batch.batchTokens) : null;
  writeFileAtomic(path.join(runDir, 'summary.json'), JSON.stringify({
    task: 'classify', labels: data.labels, trainCounts: counts, steps: state.step, epochs: state.epoch,
    bestStep: es.bestStep >= 0 ? es.bestStep : null, bestValMacroF1: es.bestStep >= 0 ? 1 - es.best : null,
    bestValLoss: es.bestStep >= 0 ? es.bestLoss ?? null : null, lastTrainLoss: state.lastTrainLoss,
    lastValMacroF1: last?.metrics.macroF1 ?? null, lastValAccuracy: last?.metrics.accuracy ?? null,
    tokensSeen: state.tokensSeen, elapsedSec: state.elapsedSec, adapter: adapterDir,
  }, null, 2) + '\n');
  return { runDir, adapterDir, state, endIds: [] };
}
