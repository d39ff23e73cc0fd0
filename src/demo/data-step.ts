// Steps 1 and 2 of the demo: check the training sheet (and, to show the validator at work, a sheet with
// deliberate mistakes), then write train.jsonl / val.jsonl with duplicates removed.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { checkFiles, type CheckOutcome } from '../data/check.js';
import { prepare } from '../data/prepare.js';
import { renderTerminal } from '../data/terminal.js';
import { tokenCounter } from '../data/tokens.js';
import type { DemoOptions } from './options.js';
import { shown } from './paths.js';

export interface CheckedData {
  outcome: CheckOutcome;
  /** the terminal report of the training data */
  report: string;
  /** the terminal report of the problems sheet, or null when none was given */
  problemsReport: string | null;
}

export interface PreparedData {
  train: string;
  val: string | null;
  nTrain: number;
  nVal: number;
  /** tokens of the training examples, estimated from the check's total (in characters without a tokenizer) */
  trainTokens: number;
  report: string;
}

export async function checkData(o: DemoOptions): Promise<CheckedData> {
  const counter = tokenCounter(o.model);
  const check = { lang: o.lang, model: o.model, validate: { countTokens: counter.countTokens, maxTokens: o.maxSeqLen } };
  const outcome = await checkFiles([shown(o.data)], [], check); // short paths in the report
  let problemsReport: string | null = null;
  if (o.problems) problemsReport = renderTerminal((await checkFiles([shown(o.problems)], [], check)).report, { shown: 1 });
  return { outcome, report: renderTerminal(outcome.report, { shown: 3 }), problemsReport };
}

function countLines(file: string): number {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).length : 0;
}

export function prepareData(o: DemoOptions, checked: CheckedData): PreparedData {
  const outDir = path.join(o.out, 'data');
  const res = prepare(checked.outcome, { outDir, valRatio: 0.1, seed: o.seed, dedup: true, redactPii: false, skipInvalid: true });
  if (!res.written) {
    throw new ShitateError('E_DATA', `${o.data}: expected data the demo can train on, found errors the check reports above`,
      `fix them (see ${path.join(outDir, 'report.html')}) and run the demo again`);
  }
  const train = path.join(outDir, 'train.jsonl');
  const valFile = path.join(outDir, 'val.jsonl');
  const val = fs.existsSync(valFile) ? valFile : null;
  const nTrain = countLines(train);
  const nVal = val ? countLines(val) : 0;
  const total = checked.outcome.report.lengths.total;
  const trainTokens = Math.round((total * nTrain) / Math.max(1, nTrain + nVal));
  return { train, val, nTrain, nVal, trainTokens, report: renderTerminal(res.report, { shown: 3 }) };
}
