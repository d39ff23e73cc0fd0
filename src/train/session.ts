// One training run end to end: resolve the run folder, load model + tokenizer + data, estimate memory,
// attach LoRA (or unfreeze everything), run the loop with checkpoints, and write the final adapter,
// metrics.jsonl, loss.svg and summary.json. The CLI and the demo both call runTraining().
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { DecoderModel, loadModel, type CausalLM } from '../models/index.js';
import { checkTokenizerFits, loadTokenizer, type Tokenizer } from '../tokenizer/index.js';
import { endOfTurnIds } from '../tokenizer/loss-mask.js';
import { attachLora, saveAdapter, type LoraSet } from '../lora/index.js';
import { writeFileAtomic } from '../io/atomic.js';
import { AdamW, type NamedParam } from './optimizer.js';
import { loadTrainingCheckpoint, replaceDir, saveTrainingCheckpoint, type TrainerState } from './checkpoint.js';
import { trainLoop, type TrainEvent } from './trainer.js';
import { appendMetric, lossCurves, trimMetrics } from './metrics-log.js';
import { BEST_FILE, CHECKPOINTS, inRunFolder } from './run-folder.js';
import { writeRunConfig } from './state-file.js';
import { loadRunData } from './data-setup.js';
import { preparePreference, type PreparedRun } from './preference-setup.js';
import { sftObjective } from './objective.js';
import { estimateTraining, formatGiB, shapeOf } from './estimate.js';
import { lossCurveSvg } from './plot.js';
import { rewardAccuracySvg } from './preference-plot.js';
import { writeFullModel } from './full.js';
import { isPreferenceMethod, type TrainConfig } from './config.js';
import type { BatchOptions } from './batching.js';
import { compactFrozenWeights, setComputePrecision } from '../tensor/index.js';
import { nativeStatus } from '../kernels/index.js';
import { runClassifyTraining } from './classify-session.js';

export interface RunOptions {
  config: TrainConfig;
  sources?: Record<string, string>;
  /** resume the run in this folder from its newest complete checkpoint (a folder without one starts over) */
  resume?: boolean;
  onEvent?: (e: TrainEvent) => void;
  stopRequested?: () => boolean;
}

export interface RunResult {
  runDir: string;
  adapterDir: string;
  state: TrainerState;
  endIds: number[];
}

export function defaultRunDir(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return path.join('runs', `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`);
}

function trainableParams(model: CausalLM, c: TrainConfig): { params: NamedParam[]; lora: LoraSet | null } {
  if (c.method === 'full') {
    // every weight under its HF name; a tied LM head is the embedding and appears once
    const params = model.namedWeights();
    for (const p of params) p.tensor.requiresGrad = true;
    return { params, lora: null };
  }
  const targets = c.targetModules.length === 1 && c.targetModules[0] === 'all-linear' ? 'all-linear' : c.targetModules;
  const lora = attachLora(model, { r: c.loraR, alpha: c.loraAlpha, dropout: c.loraDropout, targetModules: targets, useRslora: c.useRslora }, c.seed);
  return { params: lora.params().map((p) => ({ name: p.name, tensor: p.tensor })), lora };
}

/** Phase one of supervised training (preference-setup.ts has the same two phases for dpo/kto). */
function prepareSft(c: TrainConfig, tok: Tokenizer, endIds: number[], maxSeqLen: number, padId: number, embedSize: number): PreparedRun {
  const data = loadRunData(c, tok, endIds, maxSeqLen, embedSize);
  const batch: BatchOptions = { batchTokens: Math.max(c.batchTokens, c.packing ? maxSeqLen : 0), packing: c.packing, groupByLength: c.groupByLength, maxSeqLen, padId };
  return {
    notes: data.notes, warnings: data.warnings, templateVars: data.templateVars, batch, longest: Math.max(...data.train.examples.map((e) => e.ids.length)),
    attach: (model) => ({ ...trainableParams(model, c), objective: sftObjective(model, data.train.examples, data.val?.examples ?? [], batch) }),
  };
}

/** What bf16 mixed precision will and will not do on this machine. */
function precisionWarnings(c: TrainConfig): string[] {
  if (c.precision !== 'bf16') return [];
  const out: string[] = [];
  if (c.method === 'full') out.push('precision bf16 changes nothing in full fine-tuning: every weight trains, and trained weights multiply in float32');
  const how = nativeStatus().info?.bf16Gemm;
  if (how !== 'onednn') {
    out.push('precision bf16 is emulated on float32 GEMMs here (bf16 numbers, no speed-up): oneDNN was not found when the ' +
      'native kernels were built. Install it (Debian/Ubuntu: `apt-get install -y libdnnl-dev`) and run `npm rebuild shitate`.');
  }
  return out;
}

export async function runTraining(o: RunOptions): Promise<RunResult> {
  if (o.config.task === 'classify') return runClassifyTraining(o);
  const emit = o.onEvent ?? (() => {});
  return inRunFolder(o.config.out ?? defaultRunDir(), o.resume ?? false, (message) => emit({ type: 'note', message }),
    (dir, fromCheckpoint) => trainIn(dir, fromCheckpoint, o, emit));
}

async function trainIn(runDir: string, fromCheckpoint: boolean, o: RunOptions, emit: (e: TrainEvent) => void): Promise<RunResult> {
  const c = { ...o.config, out: runDir };
  writeRunConfig(runDir, c, o.sources, o.resume ?? false);
  const { model, eosTokenIds, config: mc } = loadModel(c.model);
  const tok: Tokenizer = loadTokenizer(c.model);
  checkTokenizerFits(tok, mc.vocabSize, c.model); // a few added ids beyond the embedding are fine unless they occur
  const endIds = [...new Set([...eosTokenIds, ...tok.eosTokenIds, ...endOfTurnIds(tok)])];
  const maxSeqLen = Math.min(c.maxSeqLen, mc.maxPositions);
  const padId = tok.padTokenId ?? endIds[0] ?? 0;
  const data = isPreferenceMethod(c.method) ? preparePreference(c, tok, endIds, maxSeqLen, padId, mc.vocabSize) : prepareSft(c, tok, endIds, maxSeqLen, padId, mc.vocabSize);
  for (const n of data.notes) emit({ type: 'note', message: n });
  for (const w of data.warnings) emit({ type: 'warning', message: w });
  const { batch, longest } = data;
  const est = estimateTraining(shapeOf(mc), { method: c.method === 'full' ? 'full' : 'lora', loraR: c.loraR, batchTokens: Math.min(batch.batchTokens, c.packing ? batch.batchTokens : Math.max(longest, batch.batchTokens)), precision: c.precision });
  const budget = (c.maxMemoryGb ?? os.freemem() / 2 ** 30) * 2 ** 30;
  if (est.peakBytes > budget && !c.force) {
    throw new ShitateError('E_MEMORY', `training needs about ${formatGiB(est.peakBytes)} (weights ${formatGiB(est.weightBytes)}, activations ${formatGiB(est.activationBytes)}), ${formatGiB(budget)} is available`,
      'lower batch_tokens or max_seq_len, use LoRA instead of full fine-tuning, pick a smaller model — or pass --force to try anyway');
  }
  const { params, lora, objective } = data.attach(model, (message) => emit({ type: 'warning', message }));
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
    const trimmed = trimMetrics(metricsFile, resume.step);
    if (trimmed.torn) emit({ type: 'note', message: 'metrics.jsonl ended in a line cut short by the interruption; it was dropped' });
  }
  const meta = { chat_template: tok.chatTemplate ?? '', endIds, baseModel: path.resolve(c.model) };
  const writeWeights = (dir: string) => {
    if (lora) saveAdapter(dir, lora, meta.baseModel, { 'shitate.json': JSON.stringify({ endTokenIds: endIds, chat_template_kwargs: data.templateVars, config: c }, null, 2) + '\n', ...(tok.chatTemplate ? { 'chat_template.jinja': tok.chatTemplate } : {}) });
    else writeFullModel(dir, model, c.model);
  };
  for (const w of precisionWarnings(c)) emit({ type: 'warning', message: w });
  const previousPrecision = setComputePrecision(c.precision);
  // bf16 LoRA: the frozen projections of a bf16 checkpoint are kept as bf16 only (their float32 copy is freed), and
  // so are the embedding and LM head of the shared decoder
  if (c.precision === 'bf16' && lora) {
    compactFrozenWeights(model.linears());
    if (model instanceof DecoderModel) model.compactTables();
  }
  const state = await trainLoop({ model, params, objective, config: c, batch, resume, opt }, {
    onEvent: (e) => {
      appendMetric(metricsFile, e);
      emit(e);
    },
    saveLast: (s) => saveTrainingCheckpoint(path.join(ckDir, 'last'), params, opt, s),
    saveBest: (s) => replaceDir(path.join(ckDir, 'best'), (tmp) => {
      writeWeights(tmp);
      writeFileAtomic(path.join(tmp, BEST_FILE), JSON.stringify({ step: s.step, valLoss: s.earlyStop.bestLoss ?? s.earlyStop.best }) + '\n'); // last: marks it complete
    }),
    stopRequested: o.stopRequested ?? (() => false),
    // preference training keeps adapter dropout off, as TRL's disable_dropout does by default
    setTraining: (on, seed) => lora?.setTraining(on && !isPreferenceMethod(c.method), seed),
  }).finally(() => setComputePrecision(previousPrecision));
  const adapterDir = path.join(runDir, 'adapter');
  const best = path.join(ckDir, 'best');
  replaceDir(adapterDir, (tmp) => (fs.existsSync(best) ? fs.cpSync(best, tmp, { recursive: true }) : writeWeights(tmp)));
  const { train, val } = lossCurves(metricsFile);
  writeFileAtomic(path.join(runDir, 'loss.svg'), lossCurveSvg(train, val, `shitate train — ${path.basename(c.model)}`));
  if (isPreferenceMethod(c.method)) writeFileAtomic(path.join(runDir, 'rewards.svg'), rewardAccuracySvg(metricsFile, `${c.method} reward accuracy — ${path.basename(c.model)}`));
  writeFileAtomic(path.join(runDir, 'summary.json'), JSON.stringify({
    steps: state.step, epochs: state.epoch, bestValLoss: state.earlyStop.bestStep >= 0 ? state.earlyStop.bestLoss ?? state.earlyStop.best : null,
    ...(isPreferenceMethod(c.method) && state.earlyStop.bestStep >= 0 ? { bestValRewardAccuracy: 1 - state.earlyStop.best } : {}),
    bestStep: state.earlyStop.bestStep >= 0 ? state.earlyStop.bestStep : null, lastTrainLoss: state.lastTrainLoss,
    tokensSeen: state.tokensSeen, elapsedSec: state.elapsedSec, estimate: est, adapter: adapterDir,
  }, null, 2) + '\n');
  return { runDir, adapterDir, state, endIds };
}
