// Preference tuning end to end on a tiny model: SFT on answers written in two styles, then DPO from that run
// on pairs that prefer one style. Held-out preference accuracy rises from about chance to >= 80% and greedy
// answers take the preferred style; the run has TRL's metrics, rewards.svg and exact resume; KTO on the
// same data as 👍/👎 judgments trains too.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTraining } from '../../src/train/session.js';
import { TRAIN_DEFAULTS, type TrainConfig } from '../../src/train/config.js';
import { openModel, chatPrompt, generateText } from '../../src/generate/index.js';
import { runPreferenceEval } from '../../src/eval/preference.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { tinyModelDir, tempDir, writeJsonl } from '../helpers/tiny-model.js';
import { Rng } from '../../src/kernels/rng.js';

const ADJ = ['red', 'blue', 'green', 'small', 'large', 'quiet', 'fast', 'soft'];
const NOUN = ['lamp', 'chair', 'desk', 'mug', 'bag', 'fan'];
const ITEMS = ADJ.flatMap((a) => NOUN.map((n) => `${a} ${n}`)); // 48
const TRAIN_ITEMS = ITEMS.filter((_, i) => i % 4 !== 3); // 36
const HELD_OUT = ITEMS.filter((_, i) => i % 4 === 3); // 12
const PREFERRED = 'Sure!'; // and 'Nope.': the same number of tokens with the tiny tokenizer
const answer = (style: 'good' | 'bad', item: string, price: number) =>
  style === 'good' ? `${PREFERRED} The ${item} is ${price} yen.` : `Nope. The ${item} is ${price} yen.`;
const ask = (item: string) => [{ role: 'user', content: `How much is the ${item}?` }];

function data(dir: string): { sft: string; pairs: string; heldOut: string; judgments: string } {
  const rng = new Rng(7);
  const price = () => 100 + Math.floor(rng.next() * 900);
  const files = { sft: path.join(dir, 'sft.jsonl'), pairs: path.join(dir, 'pairs.jsonl'), heldOut: path.join(dir, 'held-out.jsonl'), judgments: path.join(dir, 'judgments.jsonl') };
  // SFT answers come in the style of the team that wrote them, by product line (the adjective): the tuned
  // model answers half the held-out items in each style
  const styleOf = (item: string) => (ADJ.indexOf(item.split(' ')[0]) < ADJ.length / 2 ? 'good' : 'bad');
  writeJsonl(files.sft, TRAIN_ITEMS.flatMap((item) => [0].map(() => ({ messages: [...ask(item), { role: 'assistant', content: answer(styleOf(item), item, price()) }] }))));
  const pairsOf = (items: string[]) => items.flatMap((item) => [0, 1].map(() => {
    const p = price();
    return { prompt: ask(item), chosen: [{ role: 'assistant', content: answer('good', item, p) }], rejected: [{ role: 'assistant', content: answer('bad', item, p) }] };
  }));
  writeJsonl(files.pairs, pairsOf(TRAIN_ITEMS));
  writeJsonl(files.heldOut, pairsOf(HELD_OUT));
  writeJsonl(files.judgments, TRAIN_ITEMS.flatMap((item) => {
    const p = price();
    return [{ prompt: ask(item), completion: [{ role: 'assistant', content: answer('good', item, p) }], label: true },
      { prompt: ask(item), completion: [{ role: 'assistant', content: answer('bad', item, p) }], label: false }];
  }));
  return files;
}

function config(over: Partial<TrainConfig>): TrainConfig {
  return { ...TRAIN_DEFAULTS, model: tinyModelDir(), batchTokens: 1024, loraDropout: 0, warmupRatio: 0, valSplit: 0, loraR: 8, loraAlpha: 16, ...over };
}

async function styleShare(adapter: string | null): Promise<number> {
  const m = openModel(tinyModelDir(), adapter ? { adapter } : {});
  let n = 0;
  for (const item of HELD_OUT) {
    const out = await generateText(m, chatPrompt(m.tokenizer, ask(item), m.templateVars), { temperature: 0, maxNewTokens: 12 });
    if (out.text.startsWith(PREFERRED)) n++;
  }
  return n / HELD_OUT.length;
}

function metricRows(runDir: string): { type: string; step: number; metrics?: Record<string, number> }[] {
  return fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number; metrics?: Record<string, number> });
}

describe('DPO after SFT on synthetic answer styles', () => {
  const dir = tempDir();
  const files = data(dir);
  const sftDir = path.join(dir, 'sft');
  const dpoDir = path.join(dir, 'dpo');

  it('raises held-out preference accuracy from about chance to >= 80% and greedy answers take the preferred style', async () => {
    await runTraining({ config: config({ data: files.sft, out: sftDir, learningRate: 1e-2, epochs: 30 }) });
    const dpoConfig = config({ method: 'dpo', from: sftDir, data: files.pairs, val: files.heldOut, out: dpoDir, learningRate: 2e-3, epochs: 2, beta: 0.5, evalEvery: 3 });
    const res = await runTraining({ config: dpoConfig });
    const m = openModel(tinyModelDir());
    const r = runPreferenceEval(m, [path.join(sftDir, 'adapter'), res.adapterDir], files.heldOut, { maxSeqLen: 256, limit: null, seed: 0 });
    const [base, sft, dpo] = r.systems;
    expect(r.pairs).toBe(2 * HELD_OUT.length);
    // DPO starts from the SFT model, which writes either style: about chance on the held-out pairs
    expect(sft.accuracy, `SFT accuracy ${sft.accuracy} (base ${base.accuracy})`).toBeGreaterThanOrEqual(0.3);
    expect(sft.accuracy).toBeLessThanOrEqual(0.7);
    expect(dpo.accuracy, `DPO accuracy ${dpo.accuracy}`).toBeGreaterThanOrEqual(0.8);
    expect(dpo.vsBase!.accuracy).toBeGreaterThan(0);
    const before = await styleShare(path.join(sftDir, 'adapter'));
    const after = await styleShare(res.adapterDir);
    expect(after, `preferred style in greedy answers: ${before} after SFT, ${after} after DPO`).toBeGreaterThanOrEqual(0.8);
    expect(before).toBeLessThanOrEqual(0.7);
    // TRL's metrics per step and per validation; the reward-accuracy plot; the reference was the SFT adapter
    const rows = metricRows(dpoDir);
    const steps = rows.filter((x) => x.type === 'step');
    for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected']) {
      expect(steps[0].metrics?.[k], k).toBeTypeOf('number');
    }
    expect(Math.abs(steps[0].metrics!['rewards/margins'])).toBeLessThan(1e-6); // the first step starts at the reference
    const evals = rows.filter((x) => x.type === 'eval');
    expect(evals.at(-1)!.metrics!['rewards/accuracies']).toBeGreaterThanOrEqual(0.8);
    expect(fs.readFileSync(path.join(dpoDir, 'rewards.svg'), 'utf8')).toContain('<svg');
    const summary = JSON.parse(fs.readFileSync(path.join(dpoDir, 'summary.json'), 'utf8')) as { bestValRewardAccuracy: number };
    expect(summary.bestValRewardAccuracy).toBeGreaterThanOrEqual(0.8);
  }, 180_000);

  it('resumes a DPO run exactly: interrupted and resumed equals straight through', async () => {
    const common = { method: 'dpo' as const, from: sftDir, data: files.pairs, learningRate: 5e-3, maxSteps: 6, saveEvery: 2, seed: 3 };
    const straight = await runTraining({ config: config({ ...common, out: path.join(dir, 'straight') }) });
    let steps = 0;
    await runTraining({ config: config({ ...common, out: path.join(dir, 'cut') }), onEvent: (e) => { if (e.type === 'step') steps = e.step; }, stopRequested: () => steps >= 3 });
    const resumed = await runTraining({ config: config({ ...common, out: path.join(dir, 'cut') }), resume: true });
    expect(resumed.state.step).toBe(6);
    const a = openSafetensors(path.join(straight.adapterDir, 'adapter_model.safetensors'));
    const b = openSafetensors(path.join(resumed.adapterDir, 'adapter_model.safetensors'));
    expect(a.header.size).toBeGreaterThan(0);
    for (const name of a.header.keys()) expect(Array.from(b.readF32(name))).toEqual(Array.from(a.readF32(name)));
    a.close();
    b.close();
    const losses = (d: string) => metricRows(d).filter((x) => x.type === 'step').map((x) => x.metrics!['rewards/margins']);
    expect(losses(path.join(dir, 'cut'))).toEqual(losses(path.join(dir, 'straight')));
  }, 120_000);

  it('trains KTO on 👍/👎 judgments: desirable answers gain reward over undesirable ones', async () => {
    const res = await runTraining({ config: config({ method: 'kto', from: sftDir, data: files.judgments, out: path.join(dir, 'kto'), learningRate: 5e-3, epochs: 3, beta: 0.1 }) });
    const steps = metricRows(res.runDir).filter((x) => x.type === 'step');
    expect(steps[0].metrics!.kl).toBeTypeOf('number');
    // a micro-batch may hold judgments of one kind only; average the last steps that report both
    const late = steps.slice(-6).map((x) => x.metrics!).filter((m) => m['rewards/chosen'] !== undefined && m['rewards/rejected'] !== undefined);
    expect(late.length).toBeGreaterThan(0);
    expect(late.reduce((s, m) => s + m['rewards/margins'], 0)).toBeGreaterThan(0);
    const r = runPreferenceEval(openModel(tinyModelDir()), [path.join(sftDir, 'adapter'), res.adapterDir], files.heldOut, { maxSeqLen: 256, limit: null, seed: 0 });
    expect(r.systems[2].accuracy).toBeGreaterThan(r.systems[1].accuracy);
  }, 120_000);
});
