// Evaluation end to end on the tiny model: an adapter trained on a few Q/A pairs gets a lower reference
// loss than the base — the very number training reported as validation loss — and better answers; the
// run is deterministic under a seed, keeps what it computed when stopped, and can ask a judge.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTraining } from '../../src/train/session.js';
import { TRAIN_DEFAULTS } from '../../src/train/config.js';
import { tokenizeRecords, readRecords } from '../../src/train/dataset.js';
import { evaluateLoss } from '../../src/train/trainer.js';
import { chatPrompt, openModel, type OpenedModel } from '../../src/generate/index.js';
import { chatLossMask } from '../../src/tokenizer/loss-mask.js';
import { DEFAULT_RUBRIC, EvalRun, prepareItem, readEvalItems, systemsOf, type EvalEvent, type EvalSettings } from '../../src/eval/index.js';
import { tempDir, tinyModelDir, writeJsonl } from '../helpers/tiny-model.js';
import { startFakeJudge, type FakeJudge } from './fake-judge.js';

const QA = [
  ['What are your hours?', 'We are open 9 to 6 on weekdays.'],
  ['返品できますか?', '30日以内なら返品できます。'],
  ['How do I reset my password?', 'Use the reset link on the login page.'],
];

let dir: string;
let dataFile: string;
let adapterDir: string;
let trainedValLoss: number;
let opened: OpenedModel;
let judge: FakeJudge;

const SETTINGS: EvalSettings = { maxTokens: 24, samples: 0, temperature: 0.7, seed: 3, maxSeqLen: 1024, judge: null };

function newRun(settings: Partial<EvalSettings> = {}, adapters = [adapterDir]): EvalRun {
  return new EvalRun({ opened, modelLabel: 'tiny', dataLabel: dataFile, items: readEvalItems(dataFile), adapters, settings: { ...SETTINGS, ...settings } });
}

beforeAll(async () => {
  dir = tempDir('shitate-eval-');
  dataFile = writeJsonl(path.join(dir, 'qa.jsonl'), QA.map(([q, a]) => ({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] })));
  const steps = 30;
  const res = await runTraining({ config: {
    ...TRAIN_DEFAULTS, model: tinyModelDir(), data: dataFile, val: dataFile, out: path.join(dir, 'run'), batchTokens: 512, loraDropout: 0,
    learningRate: 3e-2, maxSteps: steps, evalEvery: steps, warmupRatio: 0, loraR: 16, loraAlpha: 32, earlyStoppingPatience: null,
  } });
  adapterDir = res.adapterDir;
  trainedValLoss = (JSON.parse(fs.readFileSync(path.join(res.runDir, 'summary.json'), 'utf8')) as { bestValLoss: number }).bestValLoss;
  opened = openModel(tinyModelDir());
  judge = await startFakeJudge((user) => (user.split('Answer to grade:\n')[1].includes('30日') ? '{"score": 5, "reason": "same"}' : '{"score": 1, "reason": "wrong"}'));
});
afterAll(() => judge?.close());

describe('shitate eval on a tiny model trained on three Q/A pairs', () => {
  it('reports a lower loss for the adapter than for the base, equal to training\'s own validation loss', async () => {
    const r = await newRun().execute();
    expect(r.complete).toBe(true);
    const [base, tuned] = r.systems;
    expect(base.system).toBe('base');
    expect(tuned.adapter).toBe(adapterDir);
    expect(tuned.loss!).toBeLessThan(base.loss!);
    expect(tuned.perplexity!).toBeLessThan(base.perplexity!);
    // the same definition as training's validation loss: mean over reference tokens, same masks
    expect(Math.abs(tuned.loss! - trainedValLoss)).toBeLessThan(1e-4 * Math.max(1, trainedValLoss));
    const data = tokenizeRecords(readRecords(dataFile), opened.tokenizer, opened.endIds, 1024);
    const batch = { batchTokens: 4096, packing: false, groupByLength: false, maxSeqLen: 1024, padId: 0 };
    expect(Math.abs(base.loss! - evaluateLoss(opened.model, data.examples, batch))).toBeLessThan(1e-4);
    expect(base.lossTokens).toBe(data.targetTokens);
    // the base answers are untouched by the adapter having been attached and detached
    expect(r.comparisons[0].questions).toBe(3);
    expect(tuned.rougeL!).toBeGreaterThan(base.rougeL!);
    expect(r.comparisons[0].improved.length).toBeGreaterThan(0);
  });

  it('gives the same report for the same seed, with consistency from seeded samples', async () => {
    // a high temperature: the untrained tiny model is very sure of itself
    const hot = { samples: 3, maxTokens: 12, temperature: 3 };
    const a = await newRun(hot).execute();
    const b = await newRun(hot).execute();
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const res = a.questions[0].results.base;
    expect(res.samples).toHaveLength(3);
    expect(res.consistency).not.toBeNull();
    expect(a.systems[0].consistency).toBeGreaterThanOrEqual(0);
    const c = await newRun({ ...hot, seed: 4 }).execute();
    const samplesOf = (x: typeof a) => x.questions.map((q) => Object.values(q.results).map((res) => res.samples));
    expect(samplesOf(c)).not.toEqual(samplesOf(a));
  });

  it('keeps what was computed when stopped between questions', async () => {
    const events: EvalEvent[] = [];
    let done = 0;
    const r = await newRun().execute({
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'progress') done = e.done;
      },
      stopRequested: () => done >= 4,
    });
    expect(r.complete).toBe(false);
    expect(r.questions.map((q) => Object.keys(q.results))).toEqual([['base', r.systems[1].system], ['base'], ['base']]);
    expect(r.systems.map((s) => s.questions)).toEqual([3, 1]);
    expect(r.comparisons[0].questions).toBe(1);
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.map((e) => e.done)).toEqual([1, 2, 3, 4]);
    expect(progress.every((e) => e.total === 6 && e.etaSec >= 0)).toBe(true);
    expect(events.at(-1)).toEqual({ type: 'done', complete: false });
  });

  it('scores only the last answer of a multi-turn conversation, and reads prompt/completion files', async () => {
    const conv = [{ role: 'user', content: QA[0][0] }, { role: 'assistant', content: QA[0][1] }, { role: 'user', content: QA[1][0] }];
    const multi = writeJsonl(path.join(dir, 'multi.jsonl'), [{ messages: [...conv, { role: 'assistant', content: QA[1][1] }] }]);
    const [item] = readEvalItems(multi);
    expect(item).toMatchObject({ question: QA[1][0], reference: QA[1][1], messages: conv });
    const p = prepareItem(opened.tokenizer, opened.endIds, item, 1024);
    const whole = chatLossMask(opened.tokenizer, [...conv, { role: 'assistant', content: QA[1][1] }], opened.endIds).mask.reduce((a, b) => a + b, 0);
    const first = chatLossMask(opened.tokenizer, conv.slice(0, 2), opened.endIds).mask.reduce((a, b) => a + b, 0);
    expect(p.referenceTokens).toBe(whole - first);
    expect(p.promptIds).toEqual(chatPrompt(opened.tokenizer, conv));

    const comp = writeJsonl(path.join(dir, 'comp.jsonl'), QA.map(([q, a]) => ({ prompt: `Q: ${q}\nA:`, completion: ` ${a}` })));
    const r = await new EvalRun({ opened, modelLabel: 'tiny', dataLabel: comp, items: readEvalItems(comp), adapters: [], settings: SETTINGS }).execute();
    const data = tokenizeRecords(readRecords(comp), opened.tokenizer, opened.endIds, 1024);
    const batch = { batchTokens: 4096, packing: false, groupByLength: false, maxSeqLen: 1024, padId: 0 };
    expect(Math.abs(r.systems[0].loss! - evaluateLoss(opened.model, data.examples, batch))).toBeLessThan(1e-4);
    expect(r.questions[1]).toMatchObject({ question: `Q: ${QA[1][0]}\nA:`, reference: ` ${QA[1][1]}`, messages: null });
  });

  it('names systems briefly and uniquely', () => {
    expect(systemsOf(['runs/a/adapter', 'runs/b/adapter/', 'x/lora', 'y/lora', './base']).map((s) => s.name))
      .toEqual(['base', 'a/adapter', 'b/adapter', 'lora', 'lora #2', 'base #2']);
  });

  it('asks the judge about every greedy answer when a judge is configured', async () => {
    const before = judge.requests.length;
    const r = await newRun({ judge: { url: judge.url, model: 'grader', apiKey: null, rubric: DEFAULT_RUBRIC } }, []).execute();
    expect(judge.requests.length - before).toBe(3);
    for (const q of r.questions) {
      const res = q.results.base;
      expect(res.judge?.score).toBe(res.answer.includes('30日') ? 5 : 1);
    }
    expect(r.systems[0].judge).not.toBeNull();
    expect(r.settings.judge?.model).toBe('grader');
  });
});
