// The training loop end to end on a tiny model: it over-fits a few Q/A pairs and then answers one greedily
// and stops with the end-of-turn token; resume after an interruption replays the same losses; gradient
// accumulation over micro-batches equals one big batch; the memory pre-flight refuses what cannot fit.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTraining } from '../../src/train/session.js';
import { TRAIN_DEFAULTS, type TrainConfig } from '../../src/train/config.js';
import { loadModel, KVCache, type CausalLM } from '../../src/models/index.js';
import { loadAdapter } from '../../src/lora/index.js';
import { loadTokenizer, type Tokenizer } from '../../src/tokenizer/index.js';
import { noGrad } from '../../src/tensor/index.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { tinyModelDir, tempDir, writeJsonl } from '../helpers/tiny-model.js';

const QA = [
  ['What are your hours?', 'We are open 9 to 6 on weekdays.'],
  ['返品できますか?', '30日以内なら返品できます。'],
  ['How do I reset my password?', 'Use the reset link on the login page.'],
];

function chatRows(n: number): unknown[] {
  return Array.from({ length: n }, (_, i) => ({ messages: [{ role: 'user', content: QA[i % 3][0] }, { role: 'assistant', content: QA[i % 3][1] }] }));
}

function config(dir: string, over: Partial<TrainConfig>): TrainConfig {
  return { ...TRAIN_DEFAULTS, model: tinyModelDir(), data: path.join(dir, 'train.jsonl'), out: path.join(dir, 'run'), batchTokens: 512, loraDropout: 0, ...over };
}

function greedy(model: CausalLM, tok: Tokenizer, question: string, stopIds: number[], max = 40): { text: string; stopped: boolean } {
  const prompt = tok.encodeChat([{ role: 'user', content: question }], { addGenerationPrompt: true });
  const c = model.config;
  const cache = new KVCache(c.numLayers, 1, prompt.length + max, c.numKvHeads, c.headDim);
  const out: number[] = [];
  let step = Int32Array.from(prompt);
  for (let i = 0; i < max; i++) {
    const logits = noGrad(() => model.forward({ ids: step, batch: 1, seqLen: step.length, cache, logits: 'last' }).logits!.data);
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
    if (stopIds.includes(best)) return { text: tok.decode(out), stopped: true };
    out.push(best);
    step = Int32Array.of(best);
  }
  return { text: tok.decode(out), stopped: false };
}

describe('training on a handful of Q/A pairs', () => {
  it('over-fits to near-zero loss, then answers greedily and stops with the end-of-turn token', async () => {
    const dir = tempDir();
    writeJsonl(path.join(dir, 'train.jsonl'), chatRows(9));
    const res = await runTraining({ config: config(dir, { learningRate: 3e-2, epochs: 80, warmupRatio: 0, loraR: 16, loraAlpha: 32, valSplit: 0 }) });
    expect(res.state.lastTrainLoss!).toBeLessThan(0.15);
    const { model } = loadModel(tinyModelDir());
    const tok = loadTokenizer(tinyModelDir());
    const before = greedy(model, tok, QA[0][0], res.endIds);
    loadAdapter(res.adapterDir, model);
    const after = greedy(model, tok, QA[0][0], res.endIds);
    expect(before.text).not.toBe(QA[0][1]);
    expect(after).toEqual({ text: QA[0][1], stopped: true });
    for (const f of ['config.json', 'metrics.jsonl', 'loss.svg', 'summary.json', 'adapter/adapter_config.json', 'adapter/adapter_model.safetensors', 'adapter/chat_template.jinja']) {
      expect(fs.existsSync(path.join(res.runDir, f)), f).toBe(true);
    }
  });
});

function stepLosses(runDir: string): number[] {
  return fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as { type: string; loss?: number }).filter((m) => m.type === 'step').map((m) => m.loss!);
}

describe('exact resume', () => {
  it('2N steps straight equal N steps, interrupt, resume N steps (losses within 1e-6)', async () => {
    const dir = tempDir();
    writeJsonl(path.join(dir, 'train.jsonl'), chatRows(12));
    const base = { learningRate: 1e-2, maxSteps: 8, batchTokens: 64, loraDropout: 0.1, evalEvery: 2, saveEvery: 2, valSplit: 0.2 };
    const straight = await runTraining({ config: config(dir, { ...base, out: path.join(dir, 'a') }) });
    let steps = 0;
    const first = await runTraining({
      config: config(dir, { ...base, out: path.join(dir, 'b') }),
      onEvent: (e) => { if (e.type === 'step') steps = e.step; },
      stopRequested: () => steps >= 4,
    });
    expect(first.state.step).toBe(4);
    const resumed = await runTraining({ config: config(dir, { ...base, out: path.join(dir, 'b') }), resume: true });
    expect(resumed.state.step).toBe(8);
    const a = stepLosses(straight.runDir);
    const b = stepLosses(resumed.runDir);
    expect(b.length).toBe(8);
    for (let i = 0; i < 8; i++) expect(Math.abs(a[i] - b[i]), `step ${i + 1}`).toBeLessThan(1e-6);
    expect(new Set(a).size).toBeGreaterThan(4); // the runs actually trained
  });
});

describe('gradient accumulation', () => {
  it('4 micro-batches of 1 equal one batch of 4 with different lengths', async () => {
    const dir = tempDir();
    const rows = [
      { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'Hello! How can I help?' }] },
      { messages: [{ role: 'user', content: 'What are your opening hours on weekdays?' }, { role: 'assistant', content: '9 to 6.' }] },
      { messages: [{ role: 'user', content: '返品' }, { role: 'assistant', content: '30日以内なら返品できます。レシートをお持ちください。' }] },
      { messages: [{ role: 'user', content: 'password' }, { role: 'assistant', content: 'Use the link.' }] },
    ];
    writeJsonl(path.join(dir, 'train.jsonl'), rows);
    const common = { maxSteps: 1, valSplit: 0, learningRate: 1e-2, warmupRatio: 0, maxGradNorm: 0, loraDropout: 0 };
    const big = await runTraining({ config: config(dir, { ...common, out: path.join(dir, 'big'), batchTokens: 4096, gradAccum: 1 }) });
    const small = await runTraining({ config: config(dir, { ...common, out: path.join(dir, 'small'), batchTokens: 48, gradAccum: 4 }) });
    expect(stepLosses(small.runDir)[0]).toBeCloseTo(stepLosses(big.runDir)[0], 5);
    const A = openSafetensors(path.join(big.adapterDir, 'adapter_model.safetensors'));
    const B = openSafetensors(path.join(small.adapterDir, 'adapter_model.safetensors'));
    let maxDiff = 0;
    let moved = 0;
    for (const name of A.header.keys()) {
      if (!name.includes('lora_B')) continue;
      const a = A.readF32(name);
      const b = B.readF32(name);
      for (let i = 0; i < a.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
        moved = Math.max(moved, Math.abs(a[i]));
      }
    }
    expect(moved).toBeGreaterThan(1e-3);
    expect(maxDiff).toBeLessThan(1e-6);
  });
});

describe('memory pre-flight', () => {
  it('refuses with the numbers when the run cannot fit, unless forced', async () => {
    const dir = tempDir();
    writeJsonl(path.join(dir, 'train.jsonl'), chatRows(3));
    await expect(runTraining({ config: config(dir, { maxMemoryGb: 0.01, maxSteps: 1 }) })).rejects.toThrow(/training needs about .* GiB.*available/);
    const ok = await runTraining({ config: config(dir, { maxMemoryGb: 0.01, maxSteps: 1, force: true, out: path.join(dir, 'forced') }) });
    expect(ok.state.step).toBe(1);
  });
});
