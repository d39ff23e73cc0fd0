// The whole demo in order: check → prepare → LoRA training → base vs tuned evaluation → scripted questions
// → how to go on. Output goes through `io`, so the command line adds progress bars and tests can listen.
import path from 'node:path';
import { ShitateError } from '../errors.js';
import type { EvalEvent } from '../eval/index.js';
import type { TrainEvent } from '../train/trainer.js';
import { checkData, prepareData } from './data-step.js';
import { askBoth, evaluate, openBase, type Answered, type Evaluated } from './eval-step.js';
import type { DemoOptions } from './options.js';
import { shown } from './paths.js';
import { say, type TextKey } from './text.js';
import { trainAdapter } from './train-step.js';
import { readEvalItems } from '../eval/index.js';

export interface DemoIO {
  /** narration, reports and tables (one block of text at a time) */
  print(text: string): void;
  onTrainEvent?(e: TrainEvent): void;
  onEvalEvent?(e: EvalEvent): void;
  /** Ctrl-C: the demo stops after the step in progress */
  stopRequested?(): boolean;
}

export interface DemoResult {
  runDir: string;
  adapterDir: string;
  evaluation: Evaluated | null;
  answers: Answered[];
  seconds: number;
  /** false when stopped early */
  complete: boolean;
}

const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(1)}%`);
const num = (v: number | null) => (v === null ? '—' : v.toFixed(3));

function verdict(e: Evaluated, lang: DemoOptions['lang']): string {
  const { base, tuned } = e;
  const better = tuned.loss !== null && base.loss !== null && tuned.loss < base.loss && (tuned.charF1 ?? 0) > (base.charF1 ?? 0);
  return say(better ? 'verdictBetter' : 'verdictMixed', lang, {
    baseLoss: num(base.loss), tunedLoss: num(tuned.loss), baseF1: pct(base.charF1), tunedF1: pct(tuned.charF1),
  });
}

function answersText(answers: Answered[], o: DemoOptions): string {
  const cut = (a: string, isCut: boolean) => a.replace(/\s*\n\s*/g, ' ') + (isCut ? say('cut', o.lang, { n: o.answerTokens }) : '');
  return answers.map((a) => [say('question', o.lang, { q: a.question }), say('base', o.lang, { a: cut(a.base, a.baseCut) }),
    say('tuned', o.lang, { a: cut(a.tuned, a.tunedCut) })].join('\n')).join('\n');
}

export async function runDemo(o: DemoOptions, io: DemoIO): Promise<DemoResult> {
  const t0 = Date.now();
  const stop = io.stopRequested ?? (() => false);
  const step = (n: number, name: TextKey) => io.print(say('step', o.lang, { n, name: say(name, o.lang) }));
  io.print(`${say('title', o.lang)}\n${say('plan', o.lang, { model: shown(o.model), data: shown(o.data) })}`);

  step(1, 'stepCheck');
  const checked = await checkData(o);
  io.print(checked.report);
  if (checked.problemsReport && o.problems) io.print(`${say('problemsIntro', o.lang, { file: shown(o.problems) })}\n${checked.problemsReport}`);

  step(2, 'stepPrepare');
  const data = prepareData(o, checked);
  io.print(say('prepared', o.lang, { train: shown(data.train), nTrain: data.nTrain, val: data.val ? shown(data.val) : '—', nVal: data.nVal }));

  step(3, 'stepTrain');
  io.print(say('trainPlan', o.lang, { r: o.loraR, lr: o.learningRate, epochs: o.epochs, steps: o.maxSteps ? say('trainSteps', o.lang, { n: o.maxSteps }) : '' }));
  const trained = await trainAdapter(o, data.train, data.val, data.trainTokens, { onEvent: io.onTrainEvent, stopRequested: stop });
  io.print(say('trained', o.lang, { dir: shown(trained.adapterDir), steps: trained.state.step, sec: Math.round(trained.state.elapsedSec) }));
  const result: DemoResult = { runDir: trained.runDir, adapterDir: trained.adapterDir, evaluation: null, answers: [], seconds: 0, complete: false };
  if (stop()) return { ...result, seconds: (Date.now() - t0) / 1000 };

  step(4, 'stepEval');
  const heldout = o.heldout ?? data.val;
  if (!heldout) {
    throw new ShitateError('E_DATA', `${o.data}: expected held-out questions for the evaluation, found no --heldout file and no validation split`,
      'give --heldout questions.jsonl, or use a data file with at least 10 examples so a validation split can be made');
  }
  if (!o.heldout) io.print(say('heldoutFromVal', o.lang));
  const opened = openBase(o);
  const evaluation = await evaluate(o, opened, heldout, trained.adapterDir, { onEvent: io.onEvalEvent, stopRequested: stop });
  io.print(`${evaluation.table.trimEnd()}\n${say('report', o.lang, { html: shown(evaluation.html) })}\n${verdict(evaluation, o.lang)}`);
  if (stop()) return { ...result, evaluation, seconds: (Date.now() - t0) / 1000 };

  step(5, 'stepAsk');
  const questions = (o.questions.length ? o.questions : readEvalItems(heldout, o.ask).map((it) => it.question)).slice(0, o.ask);
  const answers = await askBoth(opened, trained.adapterDir, questions, o.answerTokens);
  io.print(answersText(answers, o));

  io.print(say('next', o.lang, { model: shown(o.model), adapter: shown(trained.adapterDir) }));
  const seconds = (Date.now() - t0) / 1000;
  const whole = Math.round(seconds);
  io.print(say('total', o.lang, { min: Math.floor(whole / 60), sec: whole % 60, out: shown(path.resolve(o.out)) }));
  return { ...result, evaluation, answers, seconds, complete: true };
}
