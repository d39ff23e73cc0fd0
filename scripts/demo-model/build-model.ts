// Pre-trains models/shitate-mini with shitate's own full-training path: random init from a fixed seed,
// the chunked Debian corpus, a step budget sized to a wall-clock limit, then the weights written in BF16.
// Run extract-corpus.mjs and train-tokenizer.mjs first. Usage (one thread, about an hour):
//   SHITATE_THREADS=1 node --import tsx scripts/demo-model/build-model.ts [--minutes 55] [--steps N]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runTraining } from '../../src/train/session.js';
import { TRAIN_DEFAULTS, type TrainConfig } from '../../src/train/config.js';
import type { TrainEvent } from '../../src/train/trainer.js';
import { loadTokenizer } from '../../src/tokenizer/index.js';
import { loadModel, saveModelFolder } from '../../src/models/index.js';
import { chunkCorpus, type ChunkStats } from './chunk-corpus.js';
import { MINI_SHAPE, writeInitialModel } from './init-model.js';

const SEED = 20240611;
/** Japanese is the product's main language but the smaller share of the open text: repeat it, thin English. */
const LANGUAGE_WEIGHTS = { ja: 2, en: 0.5 };

const { values: opt } = parseArgs({
  options: {
    work: { type: 'string', default: 'tmp/demo-model' },
    out: { type: 'string', default: 'models/shitate-mini' },
    minutes: { type: 'string', default: '55' },
    steps: { type: 'string' },
    'seq-len': { type: 'string', default: '512' },
    'batch-tokens': { type: 'string', default: '4096' },
    lr: { type: 'string', default: '0.002' },
    'calibrate-only': { type: 'boolean', default: false },
  },
});

const work = opt.work!;
const seqLen = Number(opt['seq-len']);
const batchTokens = Number(opt['batch-tokens']);

function config(data: string, out: string, maxSteps: number): TrainConfig {
  return {
    ...TRAIN_DEFAULTS, model: path.join(work, 'init'), data, out, mode: 'text', method: 'full', valSplit: 0.01,
    learningRate: Number(opt.lr), schedule: 'cosine', warmupRatio: 0.03, weightDecay: 0.1, adamBeta2: 0.95,
    maxGradNorm: 1, maxSteps, batchTokens, maxSeqLen: seqLen, packing: false, groupByLength: true, evalEvery: 100,
    earlyStoppingPatience: null, seed: SEED, threads: Number(process.env.SHITATE_THREADS ?? 1), force: false,
  };
}

function log(msg: string): void {
  process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function logEvent(e: TrainEvent): void {
  if (e.type === 'step' && (e.step % 10 === 0 || e.step <= 3)) {
    log(`step ${e.step}/${e.totalSteps} loss ${e.loss.toFixed(3)} lr ${e.lr.toExponential(2)} |g| ${e.gradNorm.toFixed(2)} ${e.tokensPerSec.toFixed(0)} tok/s eta ${(e.etaSec / 60).toFixed(1)} min`);
  } else if (e.type === 'eval') log(`eval step ${e.step}: val loss ${e.valLoss.toFixed(4)} (best ${e.bestValLoss.toFixed(4)})`);
  else if (e.type === 'warning') log(`warning: ${e.message}`);
  else if (e.type === 'done') log(`done (${e.reason}) at step ${e.step}, best val loss ${e.bestValLoss}`);
}

/** Measured tokens per second over a few steps (the first one, with allocations, is left out). */
async function calibrate(data: string): Promise<number> {
  const dir = path.join(work, 'calibrate');
  fs.rmSync(dir, { recursive: true, force: true });
  const stepTimes: number[] = [];
  const res = await runTraining({
    config: { ...config(data, dir, 6), valSplit: 0 },
    onEvent: (e) => { if (e.type === 'step') stepTimes.push(Date.now()); },
  });
  const tokensPerStep = res.state.tokensSeen / res.state.step;
  const secPerStep = (stepTimes[stepTimes.length - 1] - stepTimes[0]) / 1000 / (stepTimes.length - 1);
  fs.rmSync(dir, { recursive: true, force: true });
  return tokensPerStep / secPerStep;
}

function finalize(adapterDir: string, info: Record<string, unknown>): void {
  const out = opt.out!;
  const tmp = path.join(work, 'final');
  fs.rmSync(tmp, { recursive: true, force: true });
  const { model } = loadModel(adapterDir);
  saveModelFolder(tmp, model, adapterDir, 'BF16');
  const cfg = JSON.parse(fs.readFileSync(path.join(tmp, 'config.json'), 'utf8')) as Record<string, unknown>;
  cfg.torch_dtype = 'bfloat16';
  fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  for (const f of ['model.safetensors', 'generation_config.json']) fs.copyFileSync(path.join(tmp, f), path.join(out, f));
  fs.writeFileSync(path.join(out, 'build-info.json'), JSON.stringify(info, null, 2) + '\n');
  log(`wrote ${out}/model.safetensors (${(fs.statSync(path.join(out, 'model.safetensors')).size / 2 ** 20).toFixed(1)} MiB)`);
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const params = writeInitialModel(path.join(work, 'init'), opt.out!, MINI_SHAPE, SEED);
  log(`initial model: ${(params / 1e6).toFixed(2)}M parameters ${JSON.stringify(MINI_SHAPE)}`);
  const tok = loadTokenizer(path.join(work, 'init'));
  const data = path.join(work, 'pretrain.jsonl');
  const chunks: ChunkStats = chunkCorpus(path.join(work, 'corpus.jsonl'), data, tok, seqLen - 4, LANGUAGE_WEIGHTS);
  log(`corpus: ${chunks.records} records, ${chunks.tokens} tokens ${JSON.stringify(chunks.bySource)}`);
  let steps = opt.steps ? Number(opt.steps) : 0;
  let rate: number | null = null;
  if (!steps) {
    rate = await calibrate(data);
    steps = Math.max(10, Math.floor((Number(opt.minutes) * 60 * rate) / batchTokens));
    log(`calibration: ${rate.toFixed(0)} tokens/s -> ${steps} steps for ${opt.minutes} minutes`);
  }
  if (opt['calibrate-only']) return;
  const runDir = path.join(work, 'run');
  fs.rmSync(runDir, { recursive: true, force: true });
  const deadline = Date.now() + Number(opt.minutes) * 60_000 * 1.2;
  const res = await runTraining({ config: config(data, runDir, steps), onEvent: logEvent, stopRequested: () => Date.now() > deadline });
  const s = res.state;
  finalize(res.adapterDir, {
    seed: SEED, shape: MINI_SHAPE, languageWeights: LANGUAGE_WEIGHTS, parameters: params, steps: s.step, plannedSteps: steps, tokensSeen: s.tokensSeen,
    trainSeconds: Math.round(s.elapsedSec), tokensPerSecond: Math.round(s.tokensSeen / s.elapsedSec), calibratedTokensPerSecond: rate && Math.round(rate),
    lastTrainLoss: s.lastTrainLoss, bestValLoss: s.earlyStop.best, bestStep: s.earlyStop.bestStep, threads: config(data, runDir, steps).threads,
    corpus: chunks, config: config(data, runDir, steps), totalSeconds: Math.round((Date.now() - t0) / 1000),
  });
}

await main();
