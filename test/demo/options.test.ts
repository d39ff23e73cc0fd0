// How `shitate demo` flags become options: the sample's held-out, problems and question files come only
// with the sample data; your own --data is evaluated on its validation split; bad numbers are refused.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoOptions } from '../../src/cli/demo.js';
import { parseFlags } from '../../src/cli/args.js';
import { demoTrainConfig } from '../../src/demo/options.js';
import { bundledModelDir, sampleData } from '../../src/demo/paths.js';

const FLAGS = { model: { type: 'string' }, data: { type: 'string' }, 'max-steps': { type: 'string' }, lang: { type: 'string' }, limit: { type: 'string' } } as const;
const parse = (argv: string[]) => parseFlags('demo', argv, { ...FLAGS });

describe('demo options', () => {
  it('defaults to the bundled model and every sample file', () => {
    const o = demoOptions(parse(['--lang', 'ja']));
    const s = sampleData();
    expect(o).toMatchObject({ model: bundledModelDir(), data: s.data, heldout: s.heldout, problems: s.problems, lang: 'ja', maxSteps: null });
    expect(o.questions.length).toBeGreaterThan(0);
    expect(o.questions.every((q) => !q.startsWith('#'))).toBe(true);
    // grounded examples (instructions, retrieved entries, question, answer) may fill the model's whole context
    expect(o.maxSeqLen).toBe(512);
    expect(o.refuseShare).toBeGreaterThan(0);
    expect(o.refuseShare).toBeLessThan(0.5);
  });

  it('with your own data: no sample held-out, problems or questions', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-demo-opt-'));
    const own = path.join(dir, 'mine.csv');
    fs.writeFileSync(own, 'question,answer\nq,a\n');
    const o = demoOptions(parse(['--data', own, '--max-steps', '5']));
    expect(o).toMatchObject({ data: own, heldout: null, problems: null, questions: [], maxSteps: 5 });
  });

  it('another model gets the settings of a real model: fewer epochs at the usual LoRA learning rate', () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-demo-model-'));
    const mini = demoOptions(parse([]));
    const o = demoOptions(parse(['--model', other]));
    expect(o.model).toBe(other);
    expect(o.epochs).toBeLessThan(mini.epochs);
    expect(o.learningRate).toBeLessThan(mini.learningRate);
    expect(demoOptions(parse(['--model', bundledModelDir()])).epochs).toBe(mini.epochs);
  });

  it('refuses a step count that is not a positive integer and a data file that does not exist', () => {
    expect(() => demoOptions(parse(['--max-steps', '2.5']))).toThrow(/max-steps/);
    expect(() => demoOptions(parse(['--limit', '0']))).toThrow(/limit/);
    expect(() => demoOptions(parse(['--data', '/nonexistent/faq.csv']))).toThrow(/--data/);
  });

  it('validates about twice per epoch and keeps the LoRA scaling at alpha = 2r', () => {
    const o = { ...demoOptions(parse([])), batchTokens: 1000 };
    const c = demoTrainConfig(o, 'train.jsonl', 'val.jsonl', 'run', 10_000);
    expect(c).toMatchObject({ method: 'lora', mode: 'chat', evalEvery: 5, loraAlpha: 2 * o.loraR, val: 'val.jsonl', valSplit: 0 });
    expect(demoTrainConfig(o, 'train.jsonl', null, 'run', 300).evalEvery).toBe(1);
  });
});
