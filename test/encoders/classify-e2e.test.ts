// End to end on the sample FAQ: `data prepare --task classify` on its category column, `train --task classify` of a
// tiny encoder built here, `eval --task classify` (macro-F1 above the majority-class baseline on the held-out rows,
// report files), `shitate classify` agreeing with eval, the adapter in PEFT's SEQ_CLS layout, and exact resume.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runQuiet } from '../cli/run-quiet.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import type { ClassifyEvalResult } from '../../src/eval/classify-eval.js';
import { tinyEncoderDir } from '../helpers/tiny-encoder.js';
import { tempDir } from '../helpers/tiny-model.js';
import { runTraining } from '../../src/train/session.js';
import { TRAIN_DEFAULTS } from '../../src/train/config.js';

const FAQ = path.join(import.meta.dirname, '..', '..', 'examples', 'faq', 'faq.csv');
const TRAIN = ['--epochs', '30', '--learning-rate', '5e-3', '--early-stopping-patience', '5', '--seed', '1'];

async function captured(argv: string[]): Promise<{ code: number; out: string; stderr: string }> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((c: string | Uint8Array) => { out += typeof c === 'string' ? c : Buffer.from(c).toString(); return true; }) as typeof process.stdout.write;
  try {
    const r = await runQuiet(argv);
    return { ...r, out };
  } finally {
    process.stdout.write = write;
  }
}

describe('classification on the sample FAQ\'s category column', () => {
  const model = () => tinyEncoderDir({ arch: 'bert', hidden: 64, intermediate: 128, seed: 1 });
  const work = tempDir();
  const data = path.join(work, 'data');
  const run = path.join(work, 'run');

  beforeAll(async () => {
    const prep = await captured(['data', 'prepare', FAQ, '--task', 'classify', '--out', data]);
    expect(prep.code, prep.stderr).toBe(0);
    const r = await runQuiet(['train', '--task', 'classify', '--model', model(), '--data', path.join(data, 'train.jsonl'), '--val', path.join(data, 'val.jsonl'), '--out', run, ...TRAIN]);
    expect(r.code, r.stderr).toBe(0);
  }, 300_000);

  it('prepares {"text", "label"} lines from the question and category columns, split per label', () => {
    const rows = (f: string) => fs.readFileSync(path.join(data, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; label: string });
    const [train, val] = [rows('train.jsonl'), rows('val.jsonl')];
    expect(train.length + val.length).toBe(163);
    expect(new Set(train.map((r) => r.label)).size).toBe(13);
    expect(new Set(val.map((r) => r.label)).size).toBe(13); // every category has held-out rows
    expect(train[0]).toEqual({ text: '注文方法を教えてください。', label: '注文' });
  });

  it('beats the majority-class baseline on the held-out rows (macro-F1 from shitate eval) and writes the reports', async () => {
    const out = path.join(work, 'eval');
    const r = await captured(['eval', '--task', 'classify', '--model', model(), '--adapter', path.join(run, 'adapter'), '--data', path.join(data, 'val.jsonl'), '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.out) as ClassifyEvalResult;
    console.log(`held-out macro-F1 ${res.metrics.macroF1.toFixed(3)} (accuracy ${res.metrics.accuracy.toFixed(3)}); majority baseline macro-F1 ${res.baseline.metrics.macroF1.toFixed(3)}`);
    expect(res.baseline.from).toBe('training data');
    expect(res.metrics.macroF1).toBeGreaterThan(res.baseline.metrics.macroF1 + 0.1);
    expect(res.metrics.confusion.flat().reduce((a, b) => a + b, 0)).toBe(res.metrics.count);
    expect(res.misclassified.length).toBe(res.metrics.count - Math.round(res.metrics.accuracy * res.metrics.count));
    const html = fs.readFileSync(path.join(out, 'classify-eval.html'), 'utf8');
    expect(html).toContain('Confusion matrix');
    expect(html).toContain('配送');
    const summary = JSON.parse(fs.readFileSync(path.join(run, 'summary.json'), 'utf8')) as { bestValMacroF1: number; task: string };
    expect(summary.task).toBe('classify');
    expect(summary.bestValMacroF1).toBeCloseTo(res.metrics.macroF1, 6); // the adapter holds the best weights
  });

  it('classify agrees with eval and names labels from the adapter', async () => {
    const out = path.join(work, 'preds.jsonl');
    expect((await runQuiet(['classify', '-m', model(), '--adapter', path.join(run, 'adapter'), '--file', path.join(data, 'val.jsonl'), '--out', out])).code).toBe(0);
    const preds = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { label: string; score: number; probs: Record<string, number> });
    const ev = JSON.parse(fs.readFileSync(path.join(work, 'eval', 'classify-eval.json'), 'utf8')) as ClassifyEvalResult;
    const val = fs.readFileSync(path.join(data, 'val.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { label: string });
    expect(preds.filter((p, i) => p.label === val[i].label).length).toBe(Math.round(ev.metrics.accuracy * ev.metrics.count));
    expect(Object.keys(preds[0].probs)).toHaveLength(13);
    expect(Object.values(preds[0].probs).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    const one = await captured(['classify', '-m', model(), '--adapter', path.join(run, 'adapter'), '--top', '2', '送料はいくらですか？']);
    expect(one.out).toMatch(/^\S+\t0\.\d{3}\t送料はいくらですか？\t\(\S+ 0\.\d{3}\)\n$/);
  });

  it('saves the adapter as PEFT SEQ_CLS: LoRA factors, the classifier as modules_to_save, labels.json', () => {
    const dir = path.join(run, 'adapter');
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ peft_type: 'LORA', task_type: 'SEQ_CLS' });
    expect(cfg.modules_to_save).toEqual(expect.arrayContaining(['classifier', 'score']));
    const st = openSafetensors(path.join(dir, 'adapter_model.safetensors'));
    try {
      const names = [...st.header.keys()];
      expect(names).toContain('base_model.model.classifier.weight');
      expect(names).toContain('base_model.model.classifier.bias');
      expect(names).toContain('base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight');
      expect(st.header.get('base_model.model.classifier.weight')!.shape).toEqual([13, 64]);
    } finally {
      st.close();
    }
    const labels = JSON.parse(fs.readFileSync(path.join(dir, 'labels.json'), 'utf8')) as { id2label: Record<string, string>; label2id: Record<string, number> };
    expect(labels.id2label['0']).toBe('注文');
    expect(labels.label2id['配送']).toBe(1);
  });

  it('resumes exactly: stopped after step 5 and resumed equals the uninterrupted run', async () => {
    const config = (out: string) => ({ ...TRAIN_DEFAULTS, task: 'classify' as const, model: model(), data: path.join(data, 'train.jsonl'), val: path.join(data, 'val.jsonl'),
      out, learningRate: 5e-3, maxSteps: 12, saveEvery: 5, seed: 3 });
    const [a, b] = [path.join(work, 'a'), path.join(work, 'b')];
    await runTraining({ config: config(a) });
    let step = 0;
    const stopped = await runTraining({ config: config(b), onEvent: (e) => { if (e.type === 'step') step = e.step; }, stopRequested: () => step >= 5 });
    expect(stopped.state.step).toBe(5);
    const resumed = await runTraining({ config: config(b), resume: true });
    expect(resumed.state.step).toBe(12);
    const read = (d: string, name: string) => {
      const st = openSafetensors(path.join(d, 'checkpoints', 'last', 'trainable.safetensors'));
      try {
        return st.readF32(name);
      } finally {
        st.close();
      }
    };
    for (const name of ['base_model.model.classifier.weight', 'base_model.model.bert.encoder.layer.1.output.dense.lora_B.weight']) {
      expect(Array.from(read(b, name))).toEqual(Array.from(read(a, name)));
    }
  });
});
