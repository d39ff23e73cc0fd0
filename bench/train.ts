// LoRA training speed and peak memory, shitate vs plain PyTorch doing what transformers + PEFT do, over the
// same random checkpoint of a real shape (SmolLM2-135M, Qwen3-0.6B), batch and initial adapter; each side a
// resident child process, stepping in turns. Run: npm run bench:train [-- --arch qwen3 --layers 2 --seq 64 --steps 2]
// (or BENCH_<FLAG> env). --method dpo times a DPO step instead (reference forward with the adapter off, policy
// forward and backward of the sigmoid loss over whole-sequence scores), shitate's objective vs TRL's loss in torch
import fs from 'node:fs';
import path from 'node:path';
import { ARCHS, ensureRandomCheckpoint, randomIds } from './lib/checkpoint.js';
import { printProfileSummary } from './lib/profile.js';
import { SCALING_BAR, medianStep, parseScale, printKernelTimes, printScaling } from './lib/scaling.js';
import { loraTrainFlops } from './lib/cost.js';
import { drive, type SideRun, type SideSpec } from './lib/lockstep.js';
import {
  CACHE_DIR, REPO_ROOT, findTorchPython, fmt, getNum, mib, nodeWorker, parseBenchFlags,
  printTable, reportShitateKernels, reportTorchBlas, threadEnv,
} from './lib/harness.js';
import { loadModelConfig } from '../src/models/index.js';

const USAGE = `bench/train.ts: LoRA training tokens/s and peak RSS, shitate vs PyTorch (same run, same threads)

  --threads N     threads for both sides (default 2; SHITATE_THREADS, OPENBLAS/OMP_NUM_THREADS)
  --arch NAME     shape of the random model: ${Object.entries(ARCHS).map(([k, a]) => `${k} (${a.label})`).join(', ')}; default smollm2
  --layers N      its layers (default: the real model's, ${Object.entries(ARCHS).map(([k, a]) => `${k} ${a.layers}`).join(', ')}; e.g. 2 for a quick check)
  --batch N       rows per step (default 4)
  --seq N         tokens per row (default 256), every position a target
  --method M      sft (default) or dpo: --batch pairs of a prompt of seq/2 tokens and two completions of seq/2
                  (2 x batch rows), the reference scored with the adapter off, sigmoid loss with beta 0.1
  --rank N        LoRA r on q,k,v,o,gate,up,down (default 8; alpha = 2r, dropout 0)
  --lr X          AdamW learning rate (default 1e-4)
  --warmup N      untimed steps first (default 2)
  --steps N       timed steps, taken in turns by the two sides; the median counts (default 5)
  --precision P   shitate's compute precision: fp32 (default) or bf16 (frozen weights multiply as bfloat16)
  --torch-precision P   PyTorch's: fp32, or bf16 (bf16 weights + CPU autocast); default: the same as --precision
  --model DIR     use this Hugging Face folder instead of the random checkpoint
  --python PATH   interpreter with torch (default /usr/bin/python3)
  --no-torch      skip the PyTorch side
  --sequential    run one side after the other instead of in turns (only one model in memory at a time)
  --profile       profile the shitate side (V8 --cpu-prof into bench/.cache/profiles) and print its hot spots
  --scale LIST    shitate alone at each thread count of LIST (e.g. 2,16), one worker per count, stepping in turns:
                  tokens/s, speed-up and parallel efficiency against the first count (the many-core bar:
                  efficiency >= ${SCALING_BAR}, i.e. 16 threads >= ${SCALING_BAR} x 8 x the 2-thread tokens/s); --threads is ignored;
                  SHITATE_PIN_THREADS=1 in the environment binds each worker's threads one per core
  --kernel-times  each shitate worker reports its wall time per kernel (GEMMs per shape) and outside them; printed
                  per thread count with --scale (which kernels do not speed up), else for the one shitate side`;

const flags = parseBenchFlags(process.argv.slice(2), {
  nums: { threads: 2, layers: 0, batch: 4, seq: 256, rank: 8, lr: 1e-4, warmup: 2, steps: 5 },
  strs: ['model', 'python', 'precision', 'torch-precision', 'arch', 'method', 'scale'],
  bools: ['no-torch', 'sequential', 'profile', 'kernel-times'],
}, USAGE);
const { threads, layers, batch, seq, rank, lr, warmup, steps } = flags.num;
if (threads < 1 || batch < 1 || seq < 2 || rank < 1 || steps < 1) {
  console.error(`need --threads, --batch, --rank, --steps >= 1 and --seq >= 2\n\n${USAGE}`);
  process.exit(2);
}

const precision = flags.str.precision ?? 'fp32';
const torchPrecision = flags.str['torch-precision'] ?? precision;
if (![precision, torchPrecision].every((p) => p === 'fp32' || p === 'bf16')) {
  console.error(`--precision and --torch-precision take fp32 or bf16 (got ${precision}, ${torchPrecision})\n\n${USAGE}`);
  process.exit(2);
}
const scale = flags.str.scale === undefined ? null : parseScale(flags.str.scale);
if (typeof scale === 'string') {
  console.error(`${scale}\n\n${USAGE}`);
  process.exit(2);
}
const method = flags.str.method ?? 'sft';
if (flags.bool['kernel-times'] && method === 'dpo') {
  console.error(`--kernel-times times the sft step (the DPO worker does not report kernels)\n\n${USAGE}`);
  process.exit(2);
}
if ((method !== 'sft' && method !== 'dpo') || (method === 'dpo' && torchPrecision !== 'fp32')) {
  console.error(`--method takes sft or dpo (dpo: PyTorch in fp32 only; got ${method}, ${torchPrecision})\n\n${USAGE}`);
  process.exit(2);
}
const arch = flags.str.arch ?? 'smollm2';
if (!ARCHS[arch]) {
  console.error(`--arch takes ${Object.keys(ARCHS).join(', ')} (got ${arch})\n\n${USAGE}`);
  process.exit(2);
}
const dir = flags.str.model ?? ensureRandomCheckpoint(layers || undefined, arch);
const cfg = loadModelConfig(dir);
const profileDir = flags.bool.profile ? path.join(CACHE_DIR, 'profiles') : undefined;
const startedAt = Date.now();
console.log(`bench:train${method === 'dpo' ? ' --method dpo' : ''}  ${path.relative(REPO_ROOT, dir) || dir}: ${cfg.numLayers} layers, C ${cfg.hiddenSize}, ` +
  `V ${cfg.vocabSize}; LoRA r ${rank} alpha ${2 * rank} on q,k,v,o,gate,up,down; batch ${batch}x${seq}; ` +
  `AdamW lr ${lr}; ${warmup} warm-up + ${steps} timed steps; compute ${precision}` +
  (scale ? `; shitate at ${scale.join(', ')} threads (a scaling run)` : ` (PyTorch ${torchPrecision}), ${threads} threads`));

fs.mkdirSync(CACHE_DIR, { recursive: true });
const work = fs.mkdtempSync(path.join(CACHE_DIR, 'train-'));
const batchFile = path.join(work, 'batch.json');
const initFile = path.join(work, 'lora-init.safetensors'); // written by shitate before READY, read by PyTorch
if (method === 'dpo') {
  const half = seq >> 1;
  const ids = (k: number, n: number) => randomIds(n, cfg.vocabSize, 11 + k);
  fs.writeFileSync(batchFile, JSON.stringify({ pairs: Array.from({ length: batch }, (_, i) => ({ prompt: ids(3 * i, half), chosen: ids(3 * i + 1, seq - half), rejected: ids(3 * i + 2, seq - half) })) }));
} else fs.writeFileSync(batchFile, JSON.stringify({ batch, seq, ids: randomIds(batch * (seq + 1), cfg.vocabSize, 11) }));
const common = ['--model', dir, '--batch-file', batchFile, '--lora-init', initFile, '--rank', String(rank),
  '--alpha', String(2 * rank), '--lr', String(lr)];
const workerArgs = [...nodeWorker(method === 'dpo' ? 'dpo-worker.ts' : 'train-worker.ts', profileDir), ...common, '--precision', precision,
  ...(flags.bool['kernel-times'] ? ['--kernel-times'] : [])];
// The OpenMP wait policy: shitate's workers run as `shitate train` does (libgomp's short spin, which the workers
// ask for with spinOmpThreadsBriefly), PyTorch under the faster one for its precision here: its own (the spin) in
// bf16, 4.14-4.19 s a step against 4.65-4.72 s under PASSIVE, and PASSIVE in fp32, where its OpenBLAS threads and
// spinning OpenMP workers took each other's cores (12.6-18.0 s a step against ~8.4 s)
const TRAIN_ENV = { passive: false };
const TORCH_ENV = { passive: torchPrecision === 'fp32' };
const specs: SideSpec[] = scale
  ? scale.map((n) => ({ label: `shitate ${n}t`, cmd: process.execPath, args: workerArgs, env: threadEnv(n, TRAIN_ENV) }))
  : [{ label: 'shitate', cmd: process.execPath, args: workerArgs }];
const torch = flags.bool['no-torch'] || scale ? { python: null, why: scale ? '--scale compares shitate with itself' : '--no-torch' }
  : findTorchPython(flags.str.python);
if (torch.python) {
  const script = path.join(REPO_ROOT, 'scripts', 'reference', method === 'dpo' ? 'bench_dpo.py' : 'bench_train.py');
  specs.push({ label: 'pytorch', cmd: torch.python, args: ['-B', script, ...common, '--threads', String(threads), '--precision', torchPrecision], env: threadEnv(threads, TORCH_ENV) });
} else console.log(`PyTorch side skipped: ${torch.why}`);

let runs: SideRun[];
try {
  runs = await drive(specs, Array.from({ length: warmup + steps }, () => undefined), threadEnv(threads, TRAIN_ENV), flags.bool.sequential);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
if (scale) {
  reportShitateKernels(runs[0].ready);
  printScaling(scale, runs, warmup, getNum(runs[0].ready, 'tokens_per_step'));
  if (flags.bool['kernel-times']) printKernelTimes(scale.map((n) => `${n} threads`), runs, warmup);
  if (profileDir) printProfileSummary(profileDir, startedAt);
  process.exit(0);
}
const [ours, ref] = runs;

/** The median timed step (warm-up excluded; the median shrugs off background spikes) and tokens/s. */
function speed(r: SideRun): { tps: number; stepS: number } {
  const median = medianStep(r, warmup);
  return { tps: getNum(r.ready, 'tokens_per_step') / median, stepS: median };
}

reportShitateKernels(ours.ready);
if (ref) reportTorchBlas(ref.ready);
// DPO: 2 x batch rows forward and backward, plus the reference's forward (about half of that again)
const flopsPerStep = method === 'dpo' ? 1.5 * loraTrainFlops(cfg, 2 * batch, seq) : loraTrainFlops(cfg, batch, seq);
const peak = (r: SideRun) => getNum(r.result, 'max_rss_kib');
const row = (name: string, r: SideRun): string[] => {
  const s = speed(r);
  return [name, fmt(s.tps), fmt(s.stepS, 2), fmt(flopsPerStep / s.stepS / 1e9), mib(getNum(r.ready, 'rss_after_load_kib')), mib(peak(r))];
};
const rows = [row('shitate', ours)];
if (ref) {
  rows.push(row('pytorch', ref));
  rows.push(['ratio shitate/pytorch', `${fmt(speed(ours).tps / speed(ref).tps, 2)}x`, '', '', '', `${fmt(peak(ours) / peak(ref), 2)}x`]);
}
console.log('');
printTable(['', 'tokens/s', 'median s/step', 'GFLOP/s', 'RSS loaded', 'peak RSS'], rows);
console.log(`(GFLOP/s: ${fmt(flopsPerStep / 1e9)} GFLOP per step, estimated: frozen-base forward + backward to activations)`);

if (ref) {
  const tpsRatio = speed(ours).tps / speed(ref).tps;
  const rssRatio = peak(ours) / peak(ref);
  // against bf16 autocast the bar is higher: the bf16 GEMMs run at 2-4x sgemm's rate on AVX512-BF16/AMX cores
  const want = precision === 'bf16' && torchPrecision === 'bf16' ? 3 : 2;
  console.log(`\ntarget (>= ${want}x tokens/s at <= 0.5x peak RSS): ${tpsRatio >= want && rssRatio <= 0.5 ? 'met' : 'NOT met'}`);
  // same weights, batch and initial adapter: in the same precision the loss curves must agree (summation order
  // aside); bf16 rounding moves them by about 1e-3 per step
  const [a, b] = [ours, ref].map((r) => r.steps.map((s) => getNum(s, 'loss')));
  const diff = Math.max(...a.map((x, i) => Math.abs(x - b[i])));
  console.log(`loss per step: shitate ${a.map((x) => x.toFixed(5)).join(' ')}\n` +
    `               pytorch ${b.map((x) => x.toFixed(5)).join(' ')}\n` +
    `               max |diff| ${diff.toExponential(2)}${diff > 1e-3 && precision === 'fp32' && torchPrecision === 'fp32' ? '  <- the two sides do not compute the same thing' : ''}`);
}
if (flags.bool['kernel-times']) printKernelTimes(['ms'], [ours], warmup);
if (profileDir) printProfileSummary(profileDir, startedAt);
