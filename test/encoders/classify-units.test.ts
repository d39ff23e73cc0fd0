// The pieces of classification: scikit-learn's accuracy / per-label / macro- and weighted-F1 / confusion matrix,
// balanced class weights, the stratified validation split, data errors named with their line, and prepare's
// handling of rows without a label.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classificationMetrics } from '../../src/train/classify-metrics.js';
import { classWeightsFor, loadClassifyData, readLabeledJsonl, stratifiedSplit, type LabeledText } from '../../src/train/classify-data.js';
import { ShitateError } from '../../src/errors.js';
import { runQuiet } from '../cli/run-quiet.js';
import { tempDir, writeJsonl } from '../helpers/tiny-model.js';

describe('classificationMetrics (scikit-learn semantics)', () => {
  it('matches hand-computed precision, recall, F1, macro and weighted averages', () => {
    const m = classificationMetrics(['a', 'b', 'c', 'never'], [0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 0, 2]);
    expect(m.accuracy).toBeCloseTo(4 / 6, 10);
    expect(m.perLabel.map((s) => s.precision)).toEqual([0.5, 2 / 3, 1, 0]);
    expect(m.perLabel.map((s) => s.recall)).toEqual([0.5, 1, 0.5, 0]);
    expect(m.perLabel[1].f1).toBeCloseTo(0.8, 10);
    // a label neither true nor predicted is left out of the macro average, as sklearn's unique_labels does
    expect(m.macroF1).toBeCloseTo((0.5 + 0.8 + 2 / 3) / 3, 10);
    expect(m.weightedF1).toBeCloseTo((0.5 + 0.8 + 2 / 3) / 3, 10);
    expect(m.confusion).toEqual([[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]);
  });

  it('counts a label that is only predicted (precision 0) in the macro average', () => {
    const m = classificationMetrics(['a', 'b'], [0, 0], [0, 1]);
    expect(m.macroF1).toBeCloseTo((2 / 3 + 0) / 2, 10);
  });
});

describe('class weights and the split', () => {
  it('balanced weights are n / (K * count); auto turns them on from a 3x imbalance', () => {
    const w = classWeightsFor('balanced', [6, 2, 4], ['x', 'y', 'z']);
    expect(Array.from(w.weights!)).toEqual([12 / 18, 12 / 6, 12 / 12].map(Math.fround));
    expect(classWeightsFor('auto', [6, 2, 4], ['x', 'y', 'z']).weights).not.toBeNull();
    expect(classWeightsFor('auto', [5, 2, 4], ['x', 'y', 'z']).weights).toBeNull();
    expect(classWeightsFor('none', [60, 2, 4], ['x', 'y', 'z']).note).toMatch(/none \(the commonest label has 30\.0x/);
  });

  it('holds out the same share of every label, never a label\'s only text, and repeats with the seed', () => {
    const rows: LabeledText[] = ['a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'c'].map((label, i) => ({ text: `t${i}`, label, source: String(i) }));
    const [train, val] = stratifiedSplit(rows, 0.2, 7);
    expect(val.filter((r) => r.label === 'a')).toHaveLength(2);
    expect(val.filter((r) => r.label === 'b')).toHaveLength(1);
    expect(val.filter((r) => r.label === 'c')).toHaveLength(0);
    expect(train.length + val.length).toBe(15);
    expect(stratifiedSplit(rows, 0.2, 7)[1]).toEqual(val);
  });

  it('names the line of a bad record, and refuses validation labels the training data lacks', () => {
    const d = tempDir();
    const bad = path.join(d, 'bad.jsonl');
    fs.writeFileSync(bad, '{"text": "a", "label": "x"}\n{"text": "b"}\n');
    expect(() => readLabeledJsonl(bad)).toThrow(/bad\.jsonl:2: expected \{"text": string, "label"/);
    const train = writeJsonl(path.join(d, 't.jsonl'), [{ text: 'a', label: 'x' }, { text: 'b', label: 'y' }, { question: 'c', category: 3 }]);
    expect(readLabeledJsonl(train).map((r) => r.label)).toEqual(['x', 'y', '3']);
    const val = writeJsonl(path.join(d, 'v.jsonl'), [{ text: 'q', label: 'z' }]);
    const err = (() => { try { loadClassifyData({ data: train, val, valSplit: 0.1, seed: 1 }, null); } catch (e) { return e; } return null; })();
    expect(err).toBeInstanceOf(ShitateError);
    expect((err as ShitateError).message).toMatch(/"z"/);
  });
});

describe('data prepare --task classify', () => {
  it('writes text and label columns of a sheet, leaves unlabeled rows out and counts them', async () => {
    const d = tempDir();
    const csv = path.join(d, 'inq.csv');
    const lines = ['text,label', ...Array.from({ length: 12 }, (_, i) => `question number ${i} about ${i % 2 ? 'refunds' : 'delivery'},${i % 2 ? 'refund' : 'delivery'}`), 'no label here,'];
    fs.writeFileSync(csv, lines.join('\n') + '\n');
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((c: string) => { out += c; return true; }) as typeof process.stdout.write;
    let code: number;
    try {
      code = (await runQuiet(['data', 'prepare', csv, '--task', 'classify', '--out', path.join(d, 'o'), '--lang', 'en'])).code;
    } finally {
      process.stdout.write = write;
    }
    expect(code).toBe(0);
    const rows = ['train.jsonl', 'val.jsonl'].flatMap((f) => fs.readFileSync(path.join(d, 'o', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { label: string }));
    expect(rows).toHaveLength(12);
    expect(new Set(rows.map((r) => r.label))).toEqual(new Set(['refund', 'delivery']));
    expect(out).toMatch(/1 texts without a label left out/);
    const report = JSON.parse(fs.readFileSync(path.join(d, 'o', 'report.json'), 'utf8')) as { classify: { unlabeled: number } };
    expect(report.classify.unlabeled).toBe(1);
  });
});
