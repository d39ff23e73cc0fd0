// `shitate import-run`: turns what a GPU engine wrote into a shitate run folder (adapter/ with the chat
// template and shitate.json, metrics.jsonl, loss.svg, summary.json, licence.json) that eval, serve, merge
// and export use like a local run, and lists where the GPU run's setup differed from the local config.
import fs from 'node:fs';
import path from 'node:path';
import { lossCurveSvg } from '../../train/plot.js';
import { loadModelConfig } from '../../models/index.js';
import { shapeOf } from '../../train/estimate.js';
import type { TrainConfig } from '../../train/config.js';
import type { LoraConfig } from '../../lora/config.js';
import { checkLicence, licenceRecord } from '../../catalog/gate.js';
import { vllmAdapterProblems } from '../vllm-check.js';
import { readJsonObject } from '../../io/json-fields.js';
import { checkAdapter, locateRun, type Located } from './import-locate.js';
import type { MetricEvent } from './import-logs.js';
import { writeBundle } from './write.js';

export interface ImportOptions {
  source: string;
  out: string;
  /** the base model folder here (default: the job's) */
  model?: string | null;
  /** the local settings to compare with when the source is not a job folder */
  config?: TrainConfig | null;
}

export interface ImportResult {
  runDir: string;
  adapterDir: string;
  engine: string;
  differences: string[];
  notes: string[];
  steps: number;
}

const PROJECTIONS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
const targetSet = (t: string[] | 'all-linear') => [...new Set(t === 'all-linear' || (t.length === 1 && t[0] === 'all-linear') ? PROJECTIONS : t)].sort().join(',');

/** Where the adapter's LoRA and the run's schedule differ from the local config (and, for a job, its plan). */
export function runDifferences(lora: LoraConfig, c: TrainConfig | null, loc: Pick<Located, 'job' | 'log'>): string[] {
  const out: string[] = [];
  if (c) {
    const pairs: [string, unknown, unknown][] = [
      ['LoRA r', lora.r, c.loraR], ['lora_alpha', lora.alpha, c.loraAlpha], ['lora_dropout', lora.dropout, c.loraDropout],
      ['target modules', targetSet(lora.targetModules), targetSet(c.targetModules)], ['rsLoRA', lora.useRslora, c.useRslora],
    ];
    for (const [name, got, want] of pairs) if (got !== want) out.push(`${name}: ${String(got)} in the imported adapter, ${String(want)} in the local config`);
  }
  const log = loc.log;
  const plan = loc.job?.plan;
  if (log && c) {
    const lrs = log.events.flatMap((e) => (e.type === 'step' ? [e.lr] : []));
    const peak = Math.max(0, ...lrs);
    if (lrs.length > 2 && Math.abs(peak / c.learningRate - 1) > 0.05) out.push(`peak learning rate ${peak.toPrecision(3)} in the GPU run, ${c.learningRate} in the local config`);
  }
  if (log && plan) {
    if (log.trainBatchSize !== null && log.trainBatchSize !== plan.perDeviceBatch) out.push(`${log.trainBatchSize} rows per GPU micro-batch in the GPU run, ${plan.perDeviceBatch} planned`);
    if (log.maxSteps !== null && log.maxSteps !== plan.totalSteps) out.push(`${log.maxSteps} optimizer steps planned by the trainer, ${plan.totalSteps} by export-job (other GPU count or batch?)`);
    if (log.earlyStopped) out.push(`stopped early at step ${log.globalStep} of ${log.maxSteps ?? plan.totalSteps} (validation loss stopped improving)`);
    else if (log.maxSteps !== null && log.globalStep < log.maxSteps) out.push(`the log ends at step ${log.globalStep} of ${log.maxSteps}: the run was interrupted or only a checkpoint came back`);
  }
  return out;
}

function metricLines(events: MetricEvent[], log: Located['log']): string {
  const rate = log && log.tokensSeen && log.elapsedSec ? log.tokensSeen / log.elapsedSec : 0;
  return events.map((e) => {
    if (e.type !== 'step') return JSON.stringify(e);
    const { tokensSeen: _t, gradNorm, ...rest } = e;
    void _t;
    return JSON.stringify({ ...rest, ...(gradNorm !== null ? { gradNorm } : {}), tokensPerSec: rate, etaSec: 0 });
  }).map((l) => l + '\n').join('');
}

function licence(loc: Located, modelDir: string | null): Record<string, unknown> {
  if (loc.job?.licence) return loc.job.licence;
  if (modelDir) return licenceRecord(checkLicence(modelDir, { purpose: null, acknowledge: false }));
  return { decision: 'not-checked', licence: 'unknown', note: 'no base model folder was given: rerun import-run with --model DIR to record its licence' };
}

export function importRun(o: ImportOptions): ImportResult {
  const loc = locateRun(o.source);
  const modelDir = o.model ?? (loc.job && fs.existsSync(loc.job.model.local) ? loc.job.model.local : null);
  const shape = modelDir ? shapeOf(loadModelConfig(modelDir)) : loc.job?.model.shape ?? null;
  const lora = checkAdapter(loc.adapterDir, shape);
  const config = o.config ?? loc.job?.config ?? null;
  const differences = runDifferences(lora, config, loc);
  const notes = [...loc.notes];
  const adapterCfg = readJsonObject(path.join(loc.adapterDir, 'adapter_config.json'), 'adapter_config.json');
  const vllm = vllmAdapterProblems(adapterCfg, []);
  if (vllm.length) notes.push(`vLLM would refuse this adapter: ${vllm.map((p) => p.message).join('; ')}`);
  const read = (f: string) => fs.readFileSync(path.join(loc.adapterDir, f));
  const template = loc.job && loc.jobDir && loc.job.template_source === 'model' ? fs.readFileSync(path.join(loc.jobDir, loc.job.chat_template_file), 'utf8')
    : fs.existsSync(path.join(loc.adapterDir, 'chat_template.jinja')) ? read('chat_template.jinja').toString('utf8') : null;
  const engine = loc.job?.engine ?? (loc.log ? 'transformers' : 'unknown');
  const imported = { engine, from: path.resolve(o.source), adapter: loc.adapterDir, log: loc.log?.source ?? null, gpus: loc.job?.plan.gpus ?? null, at: new Date().toISOString() };
  const events = loc.log?.events ?? [];
  const steps = events.filter((e): e is Extract<MetricEvent, { type: 'step' }> => e.type === 'step');
  const done = events.find((e): e is Extract<MetricEvent, { type: 'done' }> => e.type === 'done');
  const train = steps.map((e) => ({ step: e.step, value: e.loss }));
  const val = events.flatMap((e) => (e.type === 'eval' ? [{ step: e.step, value: e.valLoss }] : []));
  const files: Record<string, string | Uint8Array> = {
    'adapter/adapter_config.json': read('adapter_config.json'),
    'adapter/adapter_model.safetensors': read('adapter_model.safetensors'),
    'adapter/shitate.json': JSON.stringify({ endTokenIds: loc.job?.end_ids ?? null, chat_template_kwargs: loc.job?.template_vars ?? {}, config, imported }, null, 2) + '\n',
    ...(template !== null ? { 'adapter/chat_template.jinja': template } : {}),
    'metrics.jsonl': metricLines(events, loc.log),
    'loss.svg': lossCurveSvg(train, val, `shitate import-run — ${engine}${modelDir ? ` — ${path.basename(modelDir)}` : ''}`),
    'licence.json': JSON.stringify(licence(loc, modelDir), null, 2) + '\n',
  };
  const runDir = path.resolve(o.out);
  files['summary.json'] = JSON.stringify({
    steps: loc.log?.globalStep ?? null, epochs: loc.log?.epochs ?? null, bestValLoss: done?.bestValLoss ?? null, bestStep: done?.bestStep ?? null,
    lastTrainLoss: steps.length ? steps[steps.length - 1].loss : null, tokensSeen: loc.log?.tokensSeen ?? null, elapsedSec: loc.log?.elapsedSec ?? null,
    estimate: loc.job?.plan.memory ?? null, adapter: path.join(runDir, 'adapter'), imported, differences, plannedDifferences: loc.job?.differences ?? [], notes,
  }, null, 2) + '\n';
  writeBundle(runDir, files);
  return { runDir, adapterDir: path.join(runDir, 'adapter'), engine, differences, notes, steps: loc.log?.globalStep ?? 0 };
}
