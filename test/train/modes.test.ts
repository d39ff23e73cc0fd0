// Packing keeps examples apart (same loss as running them one by one), full fine-tuning writes a complete
// model folder, early stopping keeps the best weights, and Ctrl-C writes a checkpoint a resume continues.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildBatch, type Example } from '../../src/train/batching.js';
import { loadModel } from '../../src/models/index.js';
import { noGrad } from '../../src/tensor/index.js';
import { runTraining } from '../../src/train/session.js';
import { TRAIN_DEFAULTS } from '../../src/train/config.js';
import { tinyModelDir, tempDir, writeJsonl } from '../helpers/tiny-model.js';
import { nativeBenchHooks } from '../../src/kernels/native.js';

function example(ids: number[]): Example {
  return { ids: Int32Array.from(ids), mask: Uint8Array.from(ids.map((_, i) => (i > 0 ? 1 : 0))) };
}

describe('packing', () => {
  it('gives the same summed loss as separate rows: no attention or prediction across examples', () => {
    const { model } = loadModel(tinyModelDir());
    const exs = [example([5, 8, 13, 21, 34]), example([55, 89, 144]), example([7, 7, 9, 11])];
    const opts = { batchTokens: 64, groupByLength: false, maxSeqLen: 16, padId: 0 };
    const sumLoss = (packing: boolean, rows: number[][]) => {
      const mb = buildBatch(exs, rows, { ...opts, packing });
      return noGrad(() => model.forward({ ids: mb.ids, batch: mb.B, seqLen: mb.T, targets: mb.targets, positions: mb.positions ?? undefined,
        segments: mb.segments, lossNormalizer: 1 }).loss!.item());
    };
    const packed = sumLoss(true, [[0, 1, 2]]);
    const separate = sumLoss(false, [[0], [1], [2]]);
    expect(Math.abs(packed - separate)).toBeLessThan(1e-4);
    const leaky = noGrad(() => {
      const mb = buildBatch(exs, [[0, 1, 2]], { ...opts, packing: true });
      return model.forward({ ids: mb.ids, batch: 1, seqLen: mb.T, targets: mb.targets, lossNormalizer: 1 }).loss!.item();
    });
    expect(Math.abs(leaky - separate)).toBeGreaterThan(1e-3); // without segments the examples would see each other
  });
});

const QA = Array.from({ length: 16 }, (_, i) => ({
  messages: [{ role: 'user', content: `Item ${i}: what does it cost?` }, { role: 'assistant', content: `Item ${i} costs ${i * 100 + 7} yen.` }],
}));

describe('full fine-tuning', () => {
  it('trains every weight and writes a complete HF folder that loads', async () => {
    const dir = tempDir();
    const data = writeJsonl(path.join(dir, 'train.jsonl'), QA);
    const res = await runTraining({ config: { ...TRAIN_DEFAULTS, model: tinyModelDir(), data, out: path.join(dir, 'run'), method: 'full', maxSteps: 6, learningRate: 1e-3, valSplit: 0 } });
    for (const f of ['config.json', 'tokenizer.json', 'model.safetensors']) expect(fs.existsSync(path.join(res.adapterDir, f)), f).toBe(true);
    const before = loadModel(tinyModelDir()).model.linears()[0].weight.data;
    const after = loadModel(res.adapterDir).model.linears()[0].weight.data;
    let moved = 0;
    for (let i = 0; i < before.length; i++) moved = Math.max(moved, Math.abs(after[i] - before[i]));
    expect(moved).toBeGreaterThan(1e-4);
  });

  it.skipIf(!nativeBenchHooks()).each(['fp32', 'bf16'] as const)('writes the same weights bit for bit on 1 and 8 threads, precision %s (every sum in an order of the shape alone)', async (precision) => {
    const hooks = nativeBenchHooks()!;
    const before = hooks.info().threads;
    const dir = tempDir();
    const data = writeJsonl(path.join(dir, 'train.jsonl'), QA);
    const train = async (threads: number): Promise<Float32Array[]> => {
      hooks.setThreads(threads);
      const res = await runTraining({ config: { ...TRAIN_DEFAULTS, model: tinyModelDir(), data, out: path.join(dir, `run${threads}`), method: 'full',
        maxSteps: 3, learningRate: 1e-3, valSplit: 0, loraDropout: 0, precision } });
      return loadModel(res.adapterDir).model.linears().map((l) => l.weight.data);
    };
    try {
      const [one, eight] = [await train(1), await train(8)];
      one.forEach((w, i) => expect(Array.from(new Uint32Array(eight[i].buffer, eight[i].byteOffset, eight[i].length)), `linear ${i}`)
        .toEqual(Array.from(new Uint32Array(w.buffer, w.byteOffset, w.length))));
    } finally {
      hooks.setThreads(before);
    }
  });
});

describe('early stopping', () => {
  it('stops when validation stops improving and keeps the best checkpoint as the adapter', async () => {
    const dir = tempDir();
    const data = writeJsonl(path.join(dir, 'train.jsonl'), QA.slice(0, 8));
    const val = writeJsonl(path.join(dir, 'val.jsonl'), QA.slice(8));
    const events: { type: string; step?: number; improved?: boolean; reason?: string }[] = [];
    const res = await runTraining({
      config: { ...TRAIN_DEFAULTS, model: tinyModelDir(), data, val, out: path.join(dir, 'run'), learningRate: 5e-2, epochs: 200, evalEvery: 2,
        earlyStoppingPatience: 2, loraDropout: 0, warmupRatio: 0 },
      onEvent: (e) => events.push(e),
    });
    const done = events.find((e) => e.type === 'done')!;
    expect(done.reason).toBe('early-stop');
    expect(res.state.step).toBeLessThan(200 * 1);
    const best = JSON.parse(fs.readFileSync(path.join(res.adapterDir, 'best.json'), 'utf8')) as { step: number };
    const lastImproved = events.filter((e) => e.type === 'eval' && e.improved).pop()!;
    expect(best.step).toBe(lastImproved.step);
    expect(fs.existsSync(path.join(res.runDir, 'checkpoints', 'last', 'trainer_state.json'))).toBe(true);
  });
});

describe('Ctrl-C', () => {
  it('writes a checkpoint, exits with 130, and the run resumes to completion', async () => {
    const dir = tempDir();
    const data = writeJsonl(path.join(dir, 'train.jsonl'), QA);
    const out = path.join(dir, 'run');
    const entry = path.join(import.meta.dirname, '..', 'cli', 'entry.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', entry, 'train', '--model', tinyModelDir(), '--data', data, '--out', out,
      '--max-steps', '300', '--batch-tokens', '64', '--save-every', '1000', '--eval-every', '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (/step \d+\/300/.test(err) && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(err).toMatch(/stopping after this step/);
    expect(code).toBe(130);
    const state = JSON.parse(fs.readFileSync(path.join(out, 'checkpoints', 'last', 'trainer_state.json'), 'utf8')) as { step: number };
    expect(state.step).toBeGreaterThan(0);
    expect(state.step).toBeLessThan(300);
    expect(fs.existsSync(path.join(out, 'adapter', 'adapter_model.safetensors'))).toBe(true);
    const resumed = await runTraining({ config: { ...TRAIN_DEFAULTS, ...(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { config: object }).config }, resume: true });
    expect(resumed.state.step).toBe(300);
  });
});
