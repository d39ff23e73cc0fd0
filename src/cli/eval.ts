// `shitate eval`: the base model and each adapter answer the same held-out questions; prints the metric
// table and writes eval.json and eval.html. Ctrl-C stops after writing what was computed.
import path from 'node:path';
import type { Command } from './main.js';
import { flagBool, flagStr, parseFlags } from './args.js';
import { flagsToKeys, kebab, resolveConfig, schemaFlags } from '../config/resolve.js';
import { ShitateError } from '../errors.js';
import { openModel } from '../generate/index.js';
import { evalTemplateVars } from '../eval/template-vars.js';
import { EVAL_DEFAULTS, EVAL_SCHEMA, EvalRun, evalSettings, readEvalItems, terminalTable, writeReport, type EvalConfig } from '../eval/index.js';
import { evalInterrupt, evalProgressPrinter } from './eval-progress.js';
import { isPreferenceFile, preferenceTable, runPreferenceEval, writePreferenceReport } from '../eval/preference.js';
import { evalWithKb } from './eval-kb.js';
import { evalClassify, wantsClassifyEval } from './eval-classify.js';

function defaultNote(v: unknown): string {
  return v === null || v === '' || (Array.isArray(v) && v.length === 0) ? '' : ` (default ${String(v)})`;
}

const usage = `usage: shitate eval --model DIR [--adapter DIR]... --data val.jsonl [--out DIR] [--config eval.yaml]

Evaluates the base model and each adapter on the same held-out conversations and compares them:
loss and perplexity on the reference answers; greedy answers scored against the reference by exact
match, character F1 and ROUGE-L on characters (after NFKC, lower case, whitespace and punctuation
removed; an answer in another script or language than the reference scores 0); answer length; stop
rate; consistency of sampled answers; optionally an LLM judge. Each difference from the base has a
seeded paired bootstrap interval, and a question counts as better or worse only when its ROUGE-L
changed by at least --min-change (identical answers never do). Writes OUT/eval.json and OUT/eval.html
(side-by-side answers, largest improvements and regressions first), in Japanese or English (--lang,
else the references' language). Same seed, same report. Ctrl-C keeps what was computed.

With --kb KB, each system answers a second time with what knowledge base KB retrieves for the question in
its prompt (laid out as an assistant would: base+kb, ADAPTER+kb), and the report adds retrieval recall@1/3/k
(the share of questions whose right passage was found) and how often it made it into the prompt. With
--quote N as well, each answers a third time quoting those passages (base+kb+quote, ADAPTER+kb+quote):
source-anchored decoding (README, Assistants).

On preference data (pairs {"prompt", "chosen", "rejected"} or judgments with "label", as dpo/kto train on)
it reports preference accuracy instead: how often each system gives the chosen answer the higher likelihood
(summed and per token), the mean margin and the difference from the base with a bootstrap interval, in
OUT/preference-eval.json.

With --task classify (or a --model that is an encoder: BERT, RoBERTa, XLM-R, ModernBERT) it scores classifiers
on {"text", "label"} data instead: accuracy, macro-F1, per-label precision and recall, the confusion matrix and
the misclassified texts (shitate eval --task classify --help).

settings (flag / YAML key / env SHITATE_<KEY>):
${Object.entries(EVAL_SCHEMA).map(([k, s]) => `  --${kebab(k).padEnd(16)} ${s.help}${defaultNote(EVAL_DEFAULTS[k])}`).join('\n')}
`;

function defaultOutDir(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return path.join('evals', `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`);
}

function resolveEvalConfig(argv: string[]): EvalConfig | null {
  const flags = { ...schemaFlags(EVAL_SCHEMA), adapter: { type: 'string' as const, multiple: true }, config: { type: 'string' as const } };
  const p = parseFlags('eval', argv, { ...flags, model: { type: 'string', short: 'm' } });
  if (flagBool(p, 'help')) return null;
  const c = resolveConfig(EVAL_SCHEMA, EVAL_DEFAULTS, { file: flagStr(p, 'config') ?? null, env: process.env, flags: flagsToKeys(EVAL_SCHEMA, p.values) }).values;
  for (const k of ['model', 'data'] as const) {
    if (!c[k]) throw new ShitateError('E_USAGE', `eval: expected --${k}, found none`, 'e.g. shitate eval --model DIR --adapter RUN/adapter --data val.jsonl');
  }
  return c;
}

/** Preference accuracy of the base and each adapter on pairs or judgments. */
function preferenceEval(c: EvalConfig): number {
  const opened = openModel(c.model, { adapter: null, templateVars: evalTemplateVars(c.chatTemplateKwargs ?? null, c.adapter) });
  const r = runPreferenceEval(opened, c.adapter, c.data, { maxSeqLen: c.maxSeqLen, limit: c.limit, seed: c.seed, resamples: c.bootstrapResamples });
  const file = writePreferenceReport(c.out ?? defaultOutDir(), r);
  process.stdout.write(preferenceTable(r));
  process.stderr.write(`data: ${file}\n`);
  return 0;
}

export const evalCommand: Command = {
  summary: 'compare the base model with tuned adapters on held-out questions (table, JSON, HTML)',
  async run(argv) {
    if (wantsClassifyEval(argv)) return evalClassify(argv);
    const c = resolveEvalConfig(argv);
    if (!c) {
      process.stdout.write(usage);
      return 0;
    }
    if (c.threads) process.env.SHITATE_THREADS = String(c.threads);
    if (isPreferenceFile(c.data)) return preferenceEval(c);
    const settings = evalSettings(c);
    const items = readEvalItems(c.data, c.limit);
    const outDir = c.out ?? defaultOutDir();
    const opened = openModel(c.model, { adapter: null, templateVars: evalTemplateVars(c.chatTemplateKwargs ?? null, c.adapter) });
    if (c.kb.length) return evalWithKb(c, opened, items, settings, outDir);
    if (c.quote > 0) {
      throw new ShitateError('E_USAGE', `eval: --quote ${c.quote} quotes retrieved passages; expected --kb KB with it, found none`, 'add --kb KB, or drop --quote');
    }
    const run = new EvalRun({ opened, modelLabel: c.model, dataLabel: c.data, items, adapters: c.adapter, settings });
    run.checkAdapters();

    const ac = evalInterrupt();
    const print = evalProgressPrinter();
    let lastSave = Date.now();
    try {
      await run.execute({
        signal: ac.signal,
        onEvent: (e) => {
          print(e);
          if (e.type === 'progress' && Date.now() - lastSave > 10_000) {
            writeReport(outDir, run.report(), true);
            lastSave = Date.now();
          }
        },
      });
    } finally {
      ac.dispose();
      const report = run.report();
      const files = writeReport(outDir, report);
      process.stdout.write(terminalTable(report));
      process.stderr.write(`report: ${files.html}\ndata: ${files.json}\n`);
    }
    return ac.signal.aborted ? 130 : 0;
  },
};
