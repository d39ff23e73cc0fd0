// `shitate demo`: the main job out of the box — the bundled shitate-mini model and sample FAQ go through
// check → prepare → LoRA training → base vs tuned evaluation → questions, with progress bars.
import fs from 'node:fs';
import type { Command } from './main.js';
import { flagBool, flagStr, parseFlags, type Parsed } from './args.js';
import { ShitateError } from '../errors.js';
import { detectLang } from '../data/messages.js';
import { checkQuoteStrength } from '../generate/index.js';
import { demoDefaults, realModelSettings, type DemoOptions } from '../demo/options.js';
import { bundledModelDir, readLines, sampleData } from '../demo/paths.js';
import { runDemo } from '../demo/run.js';
import { progressPrinter } from './progress.js';
import { evalProgressPrinter } from './eval-progress.js';

const usage = `usage: shitate demo [--model DIR] [--data FILE] [--heldout FILE] [--out DIR] [options]

Runs the whole job on this machine, offline: checks a company FAQ, prepares training files, indexes the
FAQ as a knowledge base (one entry per row) and puts what retrieval finds for each question into its
training prompt, tunes a LoRA adapter on those examples (progress bar, early stopping), compares base and
tuned, each without and with retrieval, on held-out questions (table + HTML report, retrieval recall@k),
and asks the base model and the grounded tuned assistant a few questions (with the FAQ row it cites).
With no options it uses the bundled shitate-mini model and the sample FAQ in examples/faq (about 3-5
minutes on two cores).

options:
  --model, -m DIR      Hugging Face model folder (default: the bundled models/shitate-mini)
  --data FILE          your FAQ: CSV/Excel with question and answer columns, or JSONL (default: the sample)
  --heldout FILE       held-out questions with reference answers, chat JSONL (default: the sample's, or
                       the validation split of --data)
  --questions FILE     questions to ask at the end, one per line
  --out DIR            output folder (default runs/demo-<date>-<time>)
  --lang en|ja         language of the messages (default: from LANG)
  --epochs N           passes over the training data (default 9 for shitate-mini, 3 for another model;
                       early stopping may end sooner)
  --max-steps N        stop training after N steps (quick runs)
  --learning-rate X    LoRA learning rate (default 0.003 for shitate-mini, 0.0002 for another model)
  --limit N            evaluate only the first N held-out questions
  --ask N              how many questions to ask at the end (default 3)
  --quote N            the grounded assistant quotes the retrieved entries with this bonus (source-anchored
                       decoding, default 10; 0: off). The evaluation shows the grounded systems with and without it.
  --threads N          compute threads (default: all cores)
  --seed N             seed of the data split, LoRA init and data order (default 42)
`;

const FLAGS = {
  model: { type: 'string', short: 'm' }, data: { type: 'string' }, heldout: { type: 'string' }, questions: { type: 'string' },
  out: { type: 'string' }, lang: { type: 'string' }, epochs: { type: 'string' }, 'max-steps': { type: 'string' },
  'learning-rate': { type: 'string' }, limit: { type: 'string' }, ask: { type: 'string' }, threads: { type: 'string' }, seed: { type: 'string' },
  quote: { type: 'string' },
} as const;

function numberFlag(p: Parsed, name: string, integer: boolean, min: number): number | undefined {
  const raw = flagStr(p, name);
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new ShitateError('E_USAGE', `demo: --${name} expects ${integer ? 'an integer' : 'a number'} of at least ${min}, found "${raw}"`, 'run `shitate demo --help`');
  }
  return v;
}

function existing(flag: string, file: string | undefined): string | undefined {
  if (file !== undefined && !fs.existsSync(file)) {
    throw new ShitateError('E_NOT_FOUND', `demo: --${flag} expects an existing path, found nothing at ${file}`, 'check the path; quote it if it contains spaces');
  }
  return file;
}

/** Options from flags; your own --data drops the sample's held-out, problems and question files. */
export function demoOptions(p: Parsed): DemoOptions {
  const lang = detectLang(flagStr(p, 'lang'));
  const model = existing('model', flagStr(p, 'model'));
  const ownModel = model !== undefined && fs.realpathSync(model) !== fs.realpathSync(bundledModelDir());
  const o = ownModel ? realModelSettings(demoDefaults(lang)) : demoDefaults(lang);
  const data = existing('data', flagStr(p, 'data'));
  const sample = sampleData();
  const ownData = data !== undefined && fs.realpathSync(data) !== fs.realpathSync(sample.data);
  const questionsFile = existing('questions', flagStr(p, 'questions')) ?? (ownData ? null : sample.questions);
  const steps = numberFlag(p, 'max-steps', true, 1);
  return {
    ...o,
    model: model ?? o.model,
    data: data ?? o.data,
    heldout: existing('heldout', flagStr(p, 'heldout')) ?? (ownData ? null : o.heldout),
    problems: ownData ? null : o.problems,
    questions: questionsFile ? readLines(questionsFile) : [],
    out: flagStr(p, 'out') ?? o.out,
    epochs: numberFlag(p, 'epochs', false, 0.01) ?? o.epochs,
    maxSteps: steps ?? null,
    learningRate: numberFlag(p, 'learning-rate', false, 0) ?? o.learningRate,
    limit: numberFlag(p, 'limit', true, 1) ?? null,
    ask: numberFlag(p, 'ask', true, 0) ?? o.ask,
    quote: checkQuoteStrength(numberFlag(p, 'quote', false, 0) ?? o.quote, 'demo: --quote'),
    seed: numberFlag(p, 'seed', true, 0) ?? o.seed,
  };
}

export const demoCommand: Command = {
  summary: 'the whole job on a sample FAQ: check, prepare, tune, compare, ask (bundled model, offline)',
  async run(argv) {
    const p = parseFlags('demo', argv, { ...FLAGS });
    if (flagBool(p, 'help')) {
      process.stdout.write(usage);
      return 0;
    }
    const threads = numberFlag(p, 'threads', true, 1);
    if (threads) process.env.SHITATE_THREADS = String(threads);
    const o = demoOptions(p);
    if (fs.existsSync(o.out) && fs.readdirSync(o.out).length > 0) {
      throw new ShitateError('E_OUT_EXISTS', `demo: expected a new or empty --out folder, found ${o.out} with files in it`, 'choose another --out folder; earlier results are never overwritten');
    }
    let stop = false;
    const onSigint = () => {
      if (stop) process.exit(130);
      stop = true;
      process.stderr.write('\nstopping after the current step (Ctrl-C again to quit now)\n');
    };
    process.on('SIGINT', onSigint);
    try {
      const res = await runDemo(o, {
        print: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
        onTrainEvent: progressPrinter(),
        onEvalEvent: evalProgressPrinter(),
        stopRequested: () => stop,
      });
      return res.complete ? 0 : 130;
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};
