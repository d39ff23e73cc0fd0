// The whole demo in order: check → prepare → the FAQ as a knowledge base and retrieval-augmented examples →
// LoRA training → base vs tuned, with and without retrieval → closing questions to the base model and the
// grounded tuned assistant → summary and how to go on. Output goes through `io`, so the command line adds
// progress bars and tests can listen.
import path from 'node:path';
import { ShitateError } from '../errors.js';
import type { EvalEvent } from '../eval/index.js';
import type { TrainEvent } from '../train/trainer.js';
import { checkData, prepareData, type PreparedData } from './data-step.js';
import { askBoth, evaluate, openBase, type Answered, type Evaluated } from './eval-step.js';
import { buildKnowledge, dataLanguage, fileTokens, groundExamples, type Knowledge } from './kb-step.js';
import type { DemoOptions } from './options.js';
import { shown } from './paths.js';
import { say, type TextKey } from './text.js';
import { trainAdapter } from './train-step.js';
import { readEvalItems } from '../eval/index.js';
import { demoSummary, summaryText, type DemoSummary } from './summary.js';

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
  /** recall@5 and the four systems' character F1 on the held-out questions (null until evaluated) */
  summary: DemoSummary | null;
  seconds: number;
  /** false when stopped early */
  complete: boolean;
}

function answersText(answers: Answered[], o: DemoOptions): string {
  const cut = (a: string, isCut: boolean) => a.replace(/\s*\n\s*/g, ' ') + (isCut ? say('cut', o.lang, { n: o.answerTokens }) : '');
  return answers.map((a) => [say('question', o.lang, { q: a.question }), say('base', o.lang, { a: cut(a.base, a.baseCut) }),
    say('tuned', o.lang, { a: cut(a.tuned, a.tunedCut) }),
    a.cited ? say('cited', o.lang, { row: a.cited }) : say('notCited', o.lang, { rows: a.sources.join('; ') || '—' })].join('\n')).join('\n');
}

type Step = (n: number, name: TextKey) => void;

/** Steps 1-3: the checked and prepared files, the FAQ as a knowledge base, the examples grounded in it. */
async function prepareGrounded(o: DemoOptions, io: DemoIO, step: Step): Promise<{ data: PreparedData; longest: number; knowledge: Knowledge }> {
  step(1, 'stepCheck');
  const checked = await checkData(o);
  io.print(checked.report);
  if (checked.problemsReport && o.problems) io.print(`${say('problemsIntro', o.lang, { file: shown(o.problems) })}\n${checked.problemsReport}`);

  step(2, 'stepPrepare');
  const data = prepareData(o, checked);
  io.print(say('prepared', o.lang, { train: shown(data.train), nTrain: data.nTrain, val: data.val ? shown(data.val) : '—', nVal: data.nVal }));

  step(3, 'stepKnowledge');
  const files = [data.train, ...(data.val ? [data.val] : [])];
  const language = dataLanguage(files);
  const knowledge = await buildKnowledge(o, files, language);
  try {
    const c = await groundExamples(knowledge, files, o, language);
    io.print(say('knowledge', o.lang, {
      n: knowledge.entries, home: shown(knowledge.home), grounded: c.grounded, sources: c.meanSources.toFixed(1),
      withAnswer: c.withAnswer, refused: c.refusedByShare + c.notRetrieved,
    }));
    const counted = fileTokens(knowledge, data.train);
    return { data: { ...data, trainTokens: counted.total }, longest: counted.longest, knowledge };
  } catch (e) {
    knowledge.close();
    throw e;
  }
}

export async function runDemo(o: DemoOptions, io: DemoIO): Promise<DemoResult> {
  const t0 = Date.now();
  const step: Step = (n, name) => io.print(say('step', o.lang, { n, name: say(name, o.lang) }));
  io.print(`${say('title', o.lang)}\n${say('plan', o.lang, { model: shown(o.model), data: shown(o.data) })}`);
  const { data, longest, knowledge } = await prepareGrounded(o, io, step);
  try {
    // a grounded example is planned to fit the model's context; training keeps it whole
    return await tuneAndAsk({ ...o, maxSeqLen: Math.max(o.maxSeqLen, longest) }, io, step, data, knowledge, t0);
  } finally {
    knowledge.close();
  }
}

/** Steps 4-6: training on the grounded examples, the four-way evaluation, the closing questions. */
async function tuneAndAsk(o: DemoOptions, io: DemoIO, step: Step, data: PreparedData, knowledge: Knowledge, t0: number): Promise<DemoResult> {
  const stop = io.stopRequested ?? (() => false);
  const elapsed = () => (Date.now() - t0) / 1000;
  step(4, 'stepTrain');
  io.print(say('trainPlan', o.lang, { r: o.loraR, lr: o.learningRate, epochs: o.epochs, steps: o.maxSteps ? say('trainSteps', o.lang, { n: o.maxSteps }) : '' }));
  const trained = await trainAdapter(o, data.train, data.val, data.trainTokens, { onEvent: io.onTrainEvent, stopRequested: stop });
  io.print(say('trained', o.lang, { dir: shown(trained.adapterDir), steps: trained.state.step, sec: Math.round(trained.state.elapsedSec) }));
  const result: DemoResult = { runDir: trained.runDir, adapterDir: trained.adapterDir, evaluation: null, answers: [], summary: null, seconds: 0, complete: false };
  if (stop()) return { ...result, seconds: elapsed() };

  step(5, 'stepEval');
  const heldout = o.heldout ?? data.val;
  if (!heldout) {
    throw new ShitateError('E_DATA', `${o.data}: expected held-out questions for the evaluation, found no --heldout file and no validation split`,
      'give --heldout questions.jsonl, or use a data file with at least 10 examples so a validation split can be made');
  }
  if (!o.heldout) io.print(say('heldoutFromVal', o.lang));
  const opened = openBase(o);
  const evaluation = await evaluate(o, opened, heldout, trained.adapterDir, knowledge.grounding, { onEvent: io.onEvalEvent, stopRequested: stop });
  const summary = demoSummary(evaluation);
  io.print(`${evaluation.table.trimEnd()}\n${say('report', o.lang, { html: shown(evaluation.html) })}`);
  if (stop()) return { ...result, evaluation, summary, seconds: elapsed() };

  step(6, 'stepAsk');
  const questions = (o.questions.length ? o.questions : readEvalItems(heldout, o.ask).map((it) => it.question)).slice(0, o.ask);
  const answers = await askBoth(opened, trained.adapterDir, knowledge.grounding, questions, o.answerTokens);
  io.print(answersText(answers, o));

  io.print(summaryText(summary, o.lang));
  io.print(say('next', o.lang, { model: shown(o.model), adapter: shown(trained.adapterDir), home: shown(knowledge.home), language: knowledge.grounding.profile.language,
    quoteFlag: o.quote > 0 ? ` --quote ${o.quote}` : '' }));
  const seconds = elapsed();
  const whole = Math.round(seconds);
  io.print(say('total', o.lang, { min: Math.floor(whole / 60), sec: whole % 60, out: shown(path.resolve(o.out)) }));
  return { ...result, evaluation, answers, summary, seconds, complete: true };
}
