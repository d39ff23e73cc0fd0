// `shitate estimate`: parameters, memory (weights, optimizer state, activations) on this engine's CPU path
// and on a GPU (bf16 / 4-bit), and time per epoch from a short GEMM measurement on this machine.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from './main.js';
import { flagBool, flagStr, parseFlags, type Parsed } from './args.js';
import { ShitateError } from '../errors.js';
import { loadModelConfig } from '../models/registry.js';
import { readJsonObject } from '../io/json-fields.js';
import { kernels } from '../kernels/index.js';
import { estimateTraining, formatGiB, shapeOf, type ModelShape, type TrainEstimate } from '../train/estimate.js';
import { engineModelTypes, engineSupports, findModel, licenceById, loadCatalog, modelTypeOf, variantLicenceId, variantShape, type ModelMatch } from '../catalog/catalog.js';
import { configModelType, configShape } from '../catalog/config-shape.js';
import { detectLicence } from '../catalog/detect.js';
import { estimateGpu, hasQkNorm, smallestGpu, type GpuEstimate, type GpuEstimateInput, type GpuMethod } from '../catalog/estimate-gpu.js';
import { gpuTokensPerSecond } from '../catalog/calibrate-gpu.js';
import { calibrateCpu, cpuSeconds, formatDuration, type CpuCalibration } from '../catalog/calibrate.js';

const usage = `usage: shitate estimate --model DIR|NAME [--method lora|qlora|full] [--seq N] [--batch N] [--rank R]
                        [--tokens N] [--bits 4|8] [--no-measure] [--json]

Estimates a fine-tuning run before you start it: parameter count, memory for weights, gradients and
optimizer state, and activations on the CPU (float32, this engine) and on a GPU (transformers + PEFT, bf16
autocast, or 4/8-bit with QLoRA; LoRA with and without gradient checkpointing, calibrated on measured H200
runs), and the time per epoch of --tokens tokens on this machine's CPU, from a short GEMM measurement (skip
it with --no-measure), and on one H200.

  --model DIR|NAME  a Hugging Face model folder, or a model from the catalog by name or Hugging Face id
                    (e.g. Qwen2.5-1.5B, Qwen/Qwen2.5-7B-Instruct, meta-llama/Llama-3.1-8B-Instruct)
  --method M        lora (default), qlora or full
  --seq N           tokens per row (default 1024)
  --batch N         rows per micro-batch (default 4; with --seq 1024 this is train's batch_tokens 4096)
  --rank R          LoRA rank on all seven projections (default 8)
  --tokens N        training tokens per epoch (default 1000000)
  --bits 4|8        QLoRA base precision (default 4)
  --precision P     CPU compute: fp32 (default) or bf16 (train --precision bf16: bf16 copies of the frozen
                    weights, GEMMs measured on the bf16 kernel)
`;

interface Resolved {
  label: string;
  shape: ModelShape;
  licence: string;
  /** config.json model_type, when known */
  modelType: string | null;
  /** whether this engine runs the architecture (CPU figures are shown only then) */
  engine: boolean;
}

function positiveInt(p: Parsed, name: string, fallback: number): number {
  const raw = flagStr(p, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new ShitateError('E_USAGE', `estimate: --${name} must be a positive integer, found "${raw}"`, 'e.g. --seq 1024');
  return n;
}

function resolveFolder(dir: string): Resolved {
  const det = detectLicence(dir);
  const licence = det.status === 'unknown' ? 'unknown (not found in README, LICENSE or config)' : det.licenceIds.join(' + ');
  const file = path.join(dir, 'config.json');
  const raw = readJsonObject(file, 'a Hugging Face model folder holds config.json next to the weights; download the full folder');
  const modelType = configModelType(raw);
  const engine = engineSupports(modelType);
  // the engine's own parser where it runs the family (exact defaults), a lenient reader elsewhere
  const shape = engine ? shapeOf(loadModelConfig(dir)) : configShape(raw, file);
  return { label: dir, shape, licence, modelType, engine };
}

function catalogLabel(name: string, m: ModelMatch & { variant: NonNullable<ModelMatch['variant']> }): string {
  const approx = m.variant.shape ? '' : '; shape approximated from the parameter count';
  const kind = m.checkpoint === 'chat' ? 'instruct/chat checkpoint' : 'base checkpoint';
  if (m.match === 'size') return `${name} (not in the catalog: sized as ${m.repo ?? m.variant.id}, the same family and size${approx})`;
  return `${m.repo ?? m.variant.id} (catalog: ${m.variant.id}, ${kind}${approx})`;
}

function resolveModel(model: string): Resolved {
  if (fs.existsSync(model) && fs.statSync(model).isDirectory()) return resolveFolder(model);
  // a catalog name, or the folder path shitate advise prints before the model is downloaded (./Qwen2.5-7B)
  const m = findModel(model) ?? findModel(path.basename(model));
  if (!m) {
    throw new ShitateError('E_NOT_FOUND', `estimate: expected a model folder or a catalog model, found neither for "${model}"`,
      `pass the folder you downloaded, or a catalog name or Hugging Face id such as ${loadCatalog().families.flatMap((f) => f.variants.slice(0, 1).map((v) => v.chat ?? v.hf ?? v.id)).slice(3, 9).join(', ')} (\`shitate advise --models\` lists them)`);
  }
  const { variant } = m;
  if (!variant) {
    throw new ShitateError('E_USAGE', `estimate: "${model}" is a model family; expected one size of it`,
      m.family.variants.length ? `pick one of: ${m.family.variants.map((v) => v.id).join(', ')}` : `${m.family.name} has no downloadable weights: ${m.family.summary.en}`);
  }
  const lic = licenceById(variantLicenceId(m.family, variant) ?? '');
  const modelType = modelTypeOf(m.family, variant);
  return {
    label: catalogLabel(model, { ...m, variant }), shape: variantShape(variant), modelType, engine: engineSupports(modelType),
    licence: lic ? `${lic.id}: commercial use ${lic.commercial}` : 'unknown',
  };
}

/** Why there are no CPU figures: the engine does not run this architecture (yet). */
function noEngineText(m: Resolved): string {
  return `CPU        not shown: shitate's engine does not run ${m.modelType ?? 'this'} models (it runs ${engineModelTypes().join(', ')}); ` +
    'the GPU figures are for training it with PEFT + transformers elsewhere';
}

const flopsText = (f: number) => (f >= 1e9 ? `${(f / 1e9).toFixed(2)} GFLOP` : `${(f / 1e6).toFixed(2)} MFLOP`);
const row = (name: string, ...cols: string[]) => `  ${name.padEnd(22)}${cols.map((c) => c.padEnd(32)).join('')}`.trimEnd();
const gib = (b: number) => formatGiB(b);
const fitText = (g: GpuEstimate) => {
  const card = smallestGpu(g.peakBytes);
  return card ? `fits a ${card} GB card` : 'needs several GPUs';
};

interface Options {
  method: GpuMethod;
  seq: number;
  batch: number;
  rank: number;
  tokens: number;
  bits: 4 | 8;
  precision: 'fp32' | 'bf16';
}

function readOptions(p: Parsed): Options {
  const method = (flagStr(p, 'method') ?? 'lora') as GpuMethod;
  if (!['lora', 'qlora', 'full'].includes(method)) throw new ShitateError('E_USAGE', `estimate: --method must be lora, qlora or full, found "${method}"`, 'omit it for LoRA');
  const bits = positiveInt(p, 'bits', 4);
  if (bits !== 4 && bits !== 8) throw new ShitateError('E_USAGE', `estimate: --bits must be 4 or 8, found ${bits}`, 'QLoRA uses 4 bits unless you ask for 8');
  const precision = flagStr(p, 'precision') ?? 'fp32';
  if (precision !== 'fp32' && precision !== 'bf16') throw new ShitateError('E_USAGE', `estimate: --precision must be fp32 or bf16, found "${precision}"`, 'omit it for float32');
  return { method, bits, precision, seq: positiveInt(p, 'seq', 1024), batch: positiveInt(p, 'batch', 4), rank: positiveInt(p, 'rank', 8), tokens: positiveInt(p, 'tokens', 1_000_000) };
}

/** the GPU columns: LoRA or QLoRA with and without gradient checkpointing, or both precisions of full
 *  fine-tuning (checkpointed) */
function gpuInputs(o: Options, modelType: string | null): Record<string, GpuEstimateInput> {
  const base = { loraR: o.rank, seqLen: o.seq, batch: o.batch, bits: o.bits, qkNorm: hasQkNorm(modelType) };
  if (o.method === 'full') {
    return {
      'full (mixed precision)': { ...base, method: 'full', fullPrecision: 'mixed' },
      'full (pure bf16)': { ...base, method: 'full', fullPrecision: 'bf16' },
    };
  }
  const name = o.method === 'qlora' ? `QLoRA ${o.bits}-bit` : 'LoRA bf16';
  return {
    [name]: { ...base, method: o.method, gradientCheckpointing: false },
    [`${name} + checkpointing`]: { ...base, method: o.method, gradientCheckpointing: true },
  };
}

function gpuEstimates(shape: ModelShape, inputs: Record<string, GpuEstimateInput>): Record<string, GpuEstimate> {
  return Object.fromEntries(Object.entries(inputs).map(([k, e]) => [k, estimateGpu(shape, e)]));
}

/** seconds per epoch of `tokens` on one H200, per GPU column */
function gpuTimes(shape: ModelShape, inputs: Record<string, GpuEstimateInput>, tokens: number): Record<string, number> {
  return Object.fromEntries(Object.entries(inputs).map(([k, e]) => [k, tokens / gpuTokensPerSecond(shape, e)]));
}

function report(m: Resolved, o: Options, cpu: TrainEstimate, gpu: Record<string, GpuEstimate>, gpuSec: Record<string, number>, cal: CpuCalibration | null): string {
  const pct = ((100 * cpu.trainableParams) / cpu.params).toFixed(2);
  const out = [
    `model      ${m.label}`,
    `licence    ${m.licence}`,
    `params     ${(cpu.params / 1e6).toFixed(1)}M; trainable ${(cpu.trainableParams / 1e6).toFixed(2)}M (${pct}%, ${o.method === 'full' ? 'all weights' : `LoRA r ${o.rank}`})`,
    `batch      ${o.batch} x ${o.seq} tokens`, '',
  ];
  const g = Object.values(gpu);
  // no CPU column for an architecture the engine cannot run: it would be a figure for a run that cannot happen
  const cpuCol = (v: string) => (m.engine ? [v] : []);
  out.push(row('memory', ...cpuCol(o.precision === 'bf16' ? 'CPU bf16 mixed (shitate)' : 'CPU float32 (shitate)'), ...Object.keys(gpu).map((n) => `GPU ${n}`)));
  out.push(row('weights', ...cpuCol(gib(cpu.weightBytes)), ...g.map((e) => gib(e.weightBytes))));
  out.push(row('grads + optimizer', ...cpuCol(gib(cpu.optimizerBytes)), ...g.map((e) => gib(e.gradientBytes + e.optimizerBytes))));
  out.push(row('activations', ...cpuCol(gib(cpu.activationBytes)), ...g.map((e) => gib(e.activationBytes))));
  out.push(row('allocated (PyTorch)', ...cpuCol(''), ...g.map((e) => gib(e.allocatedBytes))));
  out.push(row('overhead', ...cpuCol(gib(cpu.overheadBytes)), ...g.map((e) => gib(e.overheadBytes))));
  out.push(row('peak', ...cpuCol(gib(cpu.peakBytes)), ...g.map((e) => `${gib(e.peakBytes)} (${fitText(e)})`)));
  out.push(row('time / epoch', ...cpuCol(cal ? formatDuration(cpuSeconds(cpu, o.tokens, cal)) : ''), ...Object.values(gpuSec).map((t) => `${formatDuration(t)} (one H200)`)));
  if (o.method === 'qlora' && m.engine) out.push('', 'QLoRA runs on an NVIDIA GPU (PEFT + bitsandbytes); the CPU column is LoRA in float32 on this engine.');
  out.push('');
  if (!m.engine) out.push(noEngineText(m));
  if (cal) {
    out.push(`CPU time   ${formatDuration(cpuSeconds(cpu, o.tokens, cal))} per epoch of ${o.tokens.toLocaleString('en-US')} tokens (${flopsText(cpu.flopsPerToken)} per token)`);
    out.push(`           measured here: GEMM ${cal.gemmGflops.toFixed(1)} GFLOP/s on the ${cal.kernels} kernels -> ~${cal.effectiveGflops.toFixed(1)} GFLOP/s for a whole training step`);
    if (cal.kernels === 'reference') out.push('           (the native kernels are 20-50x faster: see `shitate doctor`)');
  }
  out.push('GPU figures: one GPU, transformers + PEFT with bf16 autocast and SDPA attention. Memory follows what autograd keeps ' +
    '(within 3% of torch.cuda.max_memory_allocated on measured H200 runs); "peak" adds the CUDA context and allocator reserve. ' +
    'Time is calibrated on the same runs. `shitate export-job` plans batches, GPUs and checkpointing from these.');
  return out.join('\n');
}

export const estimate: Command = {
  summary: 'estimate memory and time of a fine-tuning run (CPU and GPU)',
  async run(argv) {
    const p = parseFlags('estimate', argv, {
      model: { type: 'string' }, method: { type: 'string' }, seq: { type: 'string' }, batch: { type: 'string' }, rank: { type: 'string' },
      tokens: { type: 'string' }, bits: { type: 'string' }, precision: { type: 'string' }, 'no-measure': { type: 'boolean' }, json: { type: 'boolean' },
    });
    if (flagBool(p, 'help')) {
      process.stdout.write(usage);
      return 0;
    }
    const model = flagStr(p, 'model');
    if (!model) throw new ShitateError('E_USAGE', 'estimate: --model is required', 'run `shitate estimate --help`');
    const o = readOptions(p);
    const m = resolveModel(model);
    const cpu = estimateTraining(m.shape, { method: o.method === 'full' ? 'full' : 'lora', loraR: o.rank, batchTokens: o.seq * o.batch, seqLen: o.seq, precision: o.precision });
    const inputs = gpuInputs(o, m.modelType);
    const gpu = gpuEstimates(m.shape, inputs);
    const gpuSec = gpuTimes(m.shape, inputs, o.tokens);
    const cal = flagBool(p, 'no-measure') || !m.engine ? null : calibrateCpu(kernels(), m.shape, o.seq * o.batch, 3, o.precision);
    if (flagBool(p, 'json')) {
      const cpuSecondsPerEpoch = cal ? cpuSeconds(cpu, o.tokens, cal) : null;
      const cpuPart = m.engine ? cpu : null;
      process.stdout.write(JSON.stringify({ model: m.label, licence: m.licence, modelType: m.modelType, engineSupported: m.engine, shape: m.shape, ...o,
        params: cpu.params, trainableParams: cpu.trainableParams, cpu: cpuPart, gpu, gpuSecondsPerEpoch: gpuSec, calibration: cal, cpuSecondsPerEpoch }, null, 2) + '\n');
    } else {
      process.stdout.write(report(m, o, cpu, gpu, gpuSec, cal) + '\n');
    }
    return 0;
  },
};
