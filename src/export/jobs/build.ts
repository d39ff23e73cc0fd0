// Builds a job bundle in memory: reads the model folder and the data as `shitate train` would, plans the GPU
// run, asks the engine writer for its files, and assembles job.json and the README. write.ts puts it on disk.
import path from 'node:path';
import { ShitateError } from '../../errors.js';
import { loadModelConfig, type ModelConfig } from '../../models/index.js';
import { FALLBACK_CHAT_TEMPLATE, loadTokenizer, type Tokenizer } from '../../tokenizer/index.js';
import { endOfTurnIds } from '../../tokenizer/loss-mask.js';
import { loadGenerationConfig, resolveEosTokenIds } from '../../io/generation-config.js';
import { readJsonObject } from '../../io/json-fields.js';
import { shapeOf } from '../../train/estimate.js';
import type { TrainConfig } from '../../train/config.js';
import { runTemplateVars } from '../../train/data-setup.js';
import type { GpuKind } from '../../catalog/calibrate-gpu.js';
import { dataSummary, jsonl, nonAlternating, prepareData } from './data.js';
import { planJob } from './plan.js';
import { pickLlamaFactoryTemplate } from './lf-template.js';
import { hfEngine } from './hf.js';
import { axolotlEngine } from './axolotl.js';
import { llamaFactoryEngine } from './llama-factory.js';
import { jobReadme } from './readme.js';
import type { EngineOutput, JobContext } from './context.js';
import type { Engine, JobData, JobFile, JobModel, Strategy } from './types.js';

export interface BuildOptions {
  engine: Engine;
  config: TrainConfig;
  sources: Record<string, string>;
  /** model path or Hub id on the GPU machine (default: the local folder's absolute path) */
  remoteModel?: string | null;
  gpus: number;
  gpu: GpuKind;
  strategy: Strategy | 'auto';
  checkpointing: 'auto' | 'on' | 'off';
  licence: Record<string, unknown> | null;
  now?: Date;
}

export interface BuiltJob {
  job: JobFile;
  /** path inside the job folder -> contents */
  files: Record<string, string>;
}

const CHAT_TEMPLATE_FILE = 'chat_template.jinja';

function jobModel(dir: string, mc: ModelConfig, remote: string | null | undefined): JobModel {
  const s = shapeOf(mc);
  const shape = { C: s.C, F: s.F, L: s.L, H: s.H, Hkv: s.Hkv, D: s.D, V: s.V, tied: s.tied };
  const archs = readJsonObject(path.join(dir, 'config.json'), 'a model folder holds config.json').architectures;
  const arch = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : null;
  return {
    local: path.resolve(dir), remote: remote ?? path.resolve(dir), modelType: mc.modelType, architecture: arch,
    shape, qkNorm: mc.qkNorm, maxPositions: mc.maxPositions,
  };
}

/** The ids that end an assistant turn, as `shitate train` computes them. */
export function trainingEndIds(dir: string, mc: ModelConfig, tok: Tokenizer): number[] {
  return [...new Set([...resolveEosTokenIds(mc, loadGenerationConfig(dir)), ...tok.eosTokenIds, ...endOfTurnIds(tok)])];
}

function engineOutput(engine: Engine, x: JobContext): EngineOutput {
  if (engine === 'hf') return hfEngine(x);
  if (engine === 'axolotl') return axolotlEngine(x);
  return llamaFactoryEngine(x);
}

export function buildJob(o: BuildOptions): BuiltJob {
  const c = o.config;
  if (c.method !== 'lora') {
    throw new ShitateError('E_USAGE', `export-job: expected a LoRA run, found method ${c.method}`,
      'GPU job bundles train LoRA adapters; run full fine-tuning with `shitate train --method full`, or set method: lora');
  }
  const mc = loadModelConfig(c.model);
  const tok = loadTokenizer(c.model);
  const endIds = trainingEndIds(c.model, mc, tok);
  const maxSeqLen = Math.min(c.maxSeqLen, mc.maxPositions);
  const templateVars = runTemplateVars(c, tok).vars;
  const prepared = prepareData(c, tok, endIds, maxSeqLen, templateVars, mc.vocabSize < tok.vocabSize ? mc.vocabSize : undefined);
  const hasVal = prepared.val.length > 0;
  const data: JobData = { ...dataSummary(prepared, maxSeqLen), train: 'data/train.jsonl', val: hasVal ? 'data/val.jsonl' : null };
  const model = jobModel(c.model, mc, o.remoteModel);
  const plan = planJob({
    config: c, shape: shapeOf(mc), qkNorm: mc.qkNorm, lengths: prepared.tokenized.examples.map((e) => e.ids.length),
    valExamples: prepared.val.length, maxSeqLen, gpus: o.gpus, gpu: o.gpu, strategy: o.strategy, checkpointing: o.checkpointing,
  });
  const endTexts = endIds.filter((id) => tok.specialIds.has(id)).map((id) => tok.idToToken(id)).filter((t): t is string => t !== null);
  const ctx: JobContext = {
    config: c, plan, data, model, endTexts, chatTemplateFile: CHAT_TEMPLATE_FILE, templateVars, templateSource: tok.templateSource,
    ...(o.engine === 'llama-factory' ? { lfTemplate: pickLlamaFactoryTemplate(tok, mc.modelType, templateVars), nonAlternating: nonAlternating(prepared.train) } : {}),
  };
  const out = engineOutput(o.engine, ctx);
  const addsBos = tok.bosTokenId !== null && tok.encode('a')[0] === tok.bosTokenId;
  const job: JobFile = {
    format: 'shitate-job', version: 1, engine: o.engine, created_at: (o.now ?? new Date()).toISOString(),
    model, data: { ...data, max_seq_len: maxSeqLen }, config: c, sources: o.sources, plan,
    end_ids: endIds, end_texts: endTexts, pad_id: tok.padTokenId ?? endIds[0] ?? 0, unicode_form: tok.unicodeForm,
    chat_template_file: CHAT_TEMPLATE_FILE, template_source: tok.templateSource, template_vars: templateVars,
    base_template_vars: { add_bos_token: addsBos }, licence: o.licence, differences: out.differences,
    files: Object.keys(out.files).sort(), ...(out.hf ? { hf: out.hf } : {}),
  };
  const files: Record<string, string> = {
    ...out.files,
    [CHAT_TEMPLATE_FILE]: tok.chatTemplate ?? FALLBACK_CHAT_TEMPLATE,
    'data/train.jsonl': jsonl(prepared.train),
    ...(hasVal ? { 'data/val.jsonl': jsonl(prepared.val) } : {}),
    'job.json': JSON.stringify(job, null, 2) + '\n',
    'README.md': jobReadme(job, out),
  };
  return { job, files };
}
