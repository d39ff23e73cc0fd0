// `shitate export-job`: hands a run to GPU trainers (transformers + PEFT, Axolotl, LLaMA-Factory) as a
// self-contained folder, or writes a vLLM launch script serving a project's adapters.
import path from 'node:path';
import type { Command } from './main.js';
import { flagBool, flagList, flagStr, parseFlags, type Parsed } from './args.js';
import { flagsToKeys, resolveConfig, schemaFlags } from '../config/resolve.js';
import { TRAIN_DEFAULTS, TRAIN_SCHEMA } from '../train/config.js';
import { ShitateError } from '../errors.js';
import { LICENCE_DEFAULTS, LICENCE_SCHEMA, gateLicence, licenceRecord, type Purpose } from '../catalog/gate.js';
import { GPU_KINDS, gpuKind, type GpuKind } from '../catalog/calibrate-gpu.js';
import { formatGiB } from '../train/estimate.js';
import { buildJob } from '../export/jobs/build.js';
import { writeBundle } from '../export/jobs/write.js';
import { buildVllmBundle, projectAdapters, type AdapterRef } from '../export/jobs/vllm.js';
import { ENGINES, STRATEGIES, type Engine, type Strategy } from '../export/jobs/types.js';

const SCHEMA = { ...TRAIN_SCHEMA, ...LICENCE_SCHEMA };

const usage = `usage: shitate export-job --engine hf|axolotl|llama-factory --model DIR --data train.jsonl [--val val.jsonl]
                          [--config train.yaml] [--gpus N] [--gpu KIND] --out JOB_DIR
       shitate export-job --engine vllm --model DIR [--adapter NAME=DIR]... [--runs DIR] --out JOB_DIR

Writes a folder that reproduces \`shitate train\` with the same settings on GPUs: the data (JSONL, OpenAI
messages for chats), the chat template shitate trains with, the engine's config translated from the resolved
train config (LoRA, learning rate and schedule, epochs, batch for N GPUs, max_seq_len, validation and early
stopping, bf16, gradient checkpointing when memory needs it, DeepSpeed ZeRO-2/3 or FSDP for N > 1), and a
README with the launch lines, the expected memory per GPU and what differs. Bring the folder back with
\`shitate import-run JOB_DIR\`. With --engine vllm: a serve.sh starting vLLM with every adapter as --lora-modules.

  --engine E                hf (transformers Trainer + PEFT, masks exactly as shitate), axolotl, llama-factory, vllm
  --model DIR               the model folder shitate reads (its template and tokenizer are pinned in the job)
  --remote-model ID|PATH    where the GPU machine loads the model from (default: the same path)
  --gpus N                  GPUs (default 1)
  --gpu KIND                ${GPU_KINDS.map((g) => g.id).join(', ')} (default h100): memory and speed per GPU
  --gpu-memory GB           memory per GPU, overriding the kind's
  --strategy S              auto (default), ddp, zero2, zero3, fsdp (N > 1)
  --gradient-checkpointing  auto (default: only when memory needs it), on, off
  --adapter NAME=DIR        vllm: an adapter to serve (repeatable)
  --runs DIR                vllm: serve every adapter of the run folders in DIR (default ./runs)
  --port N                  vllm: port (default 8000)
  --out JOB_DIR             a new folder
  train settings            every \`shitate train\` setting (--learning-rate, --lora-r, ...; see train --help)
`;

function positive(p: Parsed, name: string, fallback: number): number {
  const raw = flagStr(p, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new ShitateError('E_USAGE', `export-job: --${name} must be a positive integer, found "${raw}"`, `e.g. --${name} 2`);
  return n;
}

function choice<T extends string>(p: Parsed, name: string, allowed: readonly T[], fallback: T): T {
  const v = flagStr(p, name) ?? fallback;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new ShitateError('E_USAGE', `export-job: --${name} must be one of ${allowed.join(', ')}, found "${v}"`, `run \`shitate export-job --help\``);
  }
  return v as T;
}

function gpuOf(p: Parsed): GpuKind {
  const id = flagStr(p, 'gpu') ?? 'h100';
  const kind = gpuKind(id);
  if (!kind) throw new ShitateError('E_USAGE', `export-job: --gpu must be one of ${GPU_KINDS.map((g) => g.id).join(', ')}, found "${id}"`, 'pick the closest, and set --gpu-memory GB if it differs');
  const mem = flagStr(p, 'gpu-memory');
  if (mem === undefined) return kind;
  const gb = Number(mem);
  if (!(gb > 0)) throw new ShitateError('E_USAGE', `export-job: --gpu-memory must be a positive number of GB, found "${mem}"`, 'e.g. --gpu-memory 80');
  return { ...kind, memoryGB: gb };
}

function adapterRefs(p: Parsed): AdapterRef[] {
  const given = flagList(p, 'adapter').map((v) => {
    const eq = v.indexOf('=');
    return eq > 0 ? { name: v.slice(0, eq), dir: v.slice(eq + 1) } : { name: path.basename(path.resolve(v)), dir: v };
  });
  const runs = flagStr(p, 'runs');
  if (runs || given.length === 0) given.push(...projectAdapters(runs ?? 'runs'));
  return given;
}

function exportVllm(p: Parsed, out: string): number {
  const model = flagStr(p, 'model');
  if (!model) throw new ShitateError('E_USAGE', 'export-job: --model is required', 'the base model folder the adapters were trained on');
  const bundle = buildVllmBundle({ model, remoteModel: flagStr(p, 'remote-model') ?? null, adapters: adapterRefs(p), gpus: positive(p, 'gpus', 1), port: positive(p, 'port', 8000) });
  writeBundle(out, bundle.files, bundle.modes);
  process.stderr.write(`vLLM bundle written to ${out}: run ./serve.sh there (see README.md)\n`);
  return 0;
}

export const exportJob: Command = {
  summary: 'hand a training run to GPU trainers (hf, axolotl, llama-factory) or vLLM, as a self-contained folder',
  async run(argv) {
    const p = parseFlags('export-job', argv, {
      ...schemaFlags(SCHEMA), config: { type: 'string' }, engine: { type: 'string' }, 'remote-model': { type: 'string' },
      gpus: { type: 'string' }, gpu: { type: 'string' }, 'gpu-memory': { type: 'string' }, strategy: { type: 'string' },
      'gradient-checkpointing': { type: 'string' }, adapter: { type: 'string', multiple: true }, runs: { type: 'string' }, port: { type: 'string' },
    });
    if (flagBool(p, 'help')) {
      process.stdout.write(usage);
      return 0;
    }
    const engine = choice(p, 'engine', [...ENGINES, 'vllm'] as const, 'hf');
    const out = flagStr(p, 'out');
    if (!out) throw new ShitateError('E_USAGE', 'export-job: --out JOB_DIR is required', 'name a new folder for the job');
    if (engine === 'vllm') return exportVllm(p, out);
    const r = resolveConfig(SCHEMA, { ...TRAIN_DEFAULTS, ...LICENCE_DEFAULTS }, { file: flagStr(p, 'config') ?? null, env: process.env, flags: flagsToKeys(SCHEMA, p.values) });
    const config = { ...r.values, out: null };
    for (const k of ['model', 'data'] as const) {
      if (!config[k]) throw new ShitateError('E_USAGE', `export-job: --${k} is required`, 'run `shitate export-job --help`');
    }
    // the GPU run trains the model: the same licence gate as `shitate train`
    const licence = gateLicence(config.model, { purpose: (config.purpose as Purpose | null) ?? null, acknowledge: config.acceptLicence === true });
    const built = buildJob({
      engine: engine as Engine, config, sources: r.sources, remoteModel: flagStr(p, 'remote-model') ?? null,
      gpus: positive(p, 'gpus', 1), gpu: gpuOf(p), strategy: choice(p, 'strategy', ['auto', ...STRATEGIES] as const, 'auto') as Strategy | 'auto',
      checkpointing: choice(p, 'gradient-checkpointing', ['auto', 'on', 'off'] as const, 'auto'), licence: licenceRecord(licence),
    });
    writeBundle(out, built.files, { 'train.py': 0o755 });
    const plan = built.job.plan;
    process.stderr.write([
      `job written to ${out} (${engine}): ${built.job.data.trainExamples} training and ${built.job.data.valExamples} validation examples`,
      `plan: ${plan.gpus} x ${plan.gpu.name}, ${plan.perDeviceBatch} rows x ${plan.gradAccum} accumulation per GPU, ${plan.totalSteps} steps, ` +
        `gradient checkpointing ${plan.gradientCheckpointing ? 'on' : 'off'}${plan.gpus > 1 ? `, ${plan.strategy}` : ''}`,
      `memory per GPU: about ${formatGiB(plan.memory.peakBytes)} of ${plan.gpu.memoryGB} GB${plan.fits ? '' : ' (does not fit: see README.md)'}`,
      ...plan.notes.map((n) => `note: ${n}`),
      `run it as README.md says, then bring the folder back: shitate import-run ${out}`, '',
    ].join('\n'));
    return 0;
  },
};
