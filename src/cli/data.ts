// `shitate data check` and `shitate data prepare`: read FAQ sheets, logs and documents, report every
// problem with its row or line, and write clean, split training files.
import fs from 'node:fs';
import type { Command } from './main.js';
import { flagBool, flagList, flagStr, parseFlags, type FlagSpec, type Parsed } from './args.js';
import { ShitateError } from '../errors.js';
import { resolveConfig, type Schema } from '../config/resolve.js';
import { parseAllowlist, type PiiAllowlist } from '../data/pii-allow.js';
import { writeFileAtomic } from '../io/atomic.js';
import { checkFiles, type CheckOptions } from '../data/check.js';
import { FORMATS } from '../data/formats.js';
import { renderHtml } from '../data/html.js';
import { detectLang } from '../data/messages.js';
import { prepare } from '../data/prepare.js';
import { classifySummary, prepareClassify } from '../data/prepare-classify.js';
import type { CheckOutcome } from '../data/check.js';
import { contextSummary, prepareWithContext, type ContextFlags } from './data-context.js';
import { languageOfTexts } from '../eval/script.js';
import { renderTerminal } from '../data/terminal.js';
import { tokenCounter } from '../data/tokens.js';
import type { ImportOptions } from '../data/types.js';

const usage = `usage: shitate data check FILE... [--val FILE]... [options]
       shitate data prepare FILE... --out DIR [--val-ratio 0.1] [--seed 42] [--dedup] [--redact-pii] [--skip-invalid] [options]
       shitate data prepare FILE... --task classify --out DIR [--text-col C] [--label-col C] [options]

check    reads the files and reports every problem with its row or line: broken records, empty answers,
         duplicates and near-duplicates, one question with different answers, personal data, garbled
         text, too few examples, one category or answer dominating, examples over the model's context,
         and validation examples that also appear in training (--val). Exit code 1 when there are errors.
prepare  does the same check, then writes DIR/train.jsonl and DIR/val.jsonl (OpenAI chat format, or
         {"text"} for plain text), split per category with a fixed seed, and DIR/report.json + report.html.

Inputs: CSV/TSV (UTF-8, UTF-8 with BOM, Shift_JIS/CP932, EUC-JP, UTF-16; detected), Excel .xlsx, JSONL or
JSON (OpenAI messages, Alpaca, ShareGPT, prompt/completion, question/answer; detected), .txt and .md
(plain text for continued pre-training). Input files are only read, never changed.

options:
  --question-col C / --answer-col C   columns (header name or number, 1 = first), e.g. --question-col 質問
  --category-col C / --system-col C   category column (split and bias checks), per-row system prompt column
  --task chat|classify   prepare: chat examples (default), or {"text", "label"} lines for train --task classify
                         (the question or text column is the text, the category column the label: an FAQ
                         sheet with a category column works as it is; rows without a label are counted, left out)
  --text-col C / --label-col C        classify: the text and label columns (as --question-col / --category-col)
  --system TEXT          system prompt added to every chat example that has none
  --sheet NAME|N         Excel sheet (default: the first visible one)
  --header / --no-header whether the first row is a header (default: detected)
  --format F             JSON format: ${FORMATS.join(', ')} (default: detected)
  --encoding E           force the text encoding (utf-8, shift_jis, euc-jp, utf-16le, ...)
  --chunk-chars N        plain text: characters per example (default 2000)
  --model DIR            render and mask every chat example with this model's chat template as training
                         will (refusals reported with their line), count its tokens, check the context
  --max-tokens N         the length limit to check (default: the model's context)
  --pii-allow VALUE      the company's own e-mail address, domain (example.co.jp: every address there) or
                         phone number: not reported as personal data, kept by --redact-pii, listed in the
                         report; repeat it for several
  --config FILE          YAML settings; \`pii_allow: [info@example.co.jp, 03-1234-5678]\` adds to --pii-allow
                         (so does SHITATE_PII_ALLOW, comma-separated)
  --lang ja|en           report language (default: from the locale)
  --json                 print the report as JSON instead of the summary
  --html FILE            also write the HTML report to FILE (check)
  --strict               exit code 1 on warnings too (check)

retrieval-augmented examples (prepare):
  --with-context KB      each question's prompt holds what knowledge base KB (repeatable) retrieves for it,
                         laid out as an assistant on --model lays out a turn; the answer cites the entry
                         that holds it ([n]); a share of examples loses its right entry and learns to say
                         the answer is not there. Needs --model. Then: shitate train --data DIR/train.jsonl
  --refuse-share X       share of examples without their right entry (default 0.15)
  --refusal TEXT         what the model says then (default: a polite "not in the documents", ja or en)
  --no-cite              answers without the [n] citation
  --assistant NAME       lay prompts out as this assistant's profile does (instructions, language, top_k)
  --language CODE        language of the prompt's words (default: the data's)
`;

const FLAGS: FlagSpec = {
  'question-col': { type: 'string' }, 'answer-col': { type: 'string' }, 'category-col': { type: 'string' }, 'system-col': { type: 'string' },
  system: { type: 'string' }, sheet: { type: 'string' }, header: { type: 'boolean' }, 'no-header': { type: 'boolean' },
  format: { type: 'string' }, encoding: { type: 'string' }, 'chunk-chars': { type: 'string' }, model: { type: 'string' },
  'max-tokens': { type: 'string' }, lang: { type: 'string' }, json: { type: 'boolean' }, html: { type: 'string' }, strict: { type: 'boolean' },
  val: { type: 'string', multiple: true }, out: { type: 'string' }, 'val-ratio': { type: 'string' }, seed: { type: 'string' },
  dedup: { type: 'boolean' }, 'redact-pii': { type: 'boolean' }, 'skip-invalid': { type: 'boolean' },
  'pii-allow': { type: 'string', multiple: true }, config: { type: 'string' },
  task: { type: 'string' }, 'text-col': { type: 'string' }, 'label-col': { type: 'string' },
  'with-context': { type: 'string', multiple: true }, 'refuse-share': { type: 'string' }, refusal: { type: 'string' }, 'no-cite': { type: 'boolean' },
  assistant: { type: 'string' }, language: { type: 'string' },
};

/** Settings of the data commands a --config file (or the environment) may hold. */
const DATA_SCHEMA = {
  piiAllow: { type: 'list', help: 'the company\'s own e-mail addresses, domains and phone numbers (not personal data)' },
} as const satisfies Schema;

/** The allowlist from the config file and SHITATE_PII_ALLOW, plus every --pii-allow flag. */
function piiAllowlist(p: Parsed): PiiAllowlist {
  const file = flagStr(p, 'config') ?? null;
  const fromFile = resolveConfig(DATA_SCHEMA, { piiAllow: [] as string[] }, { file, env: process.env }).values.piiAllow;
  return parseAllowlist([...fromFile, ...flagList(p, 'pii-allow')], file ? `--pii-allow / pii_allow in ${file}` : '--pii-allow');
}

function numberFlag(p: Parsed, name: string, def: number, check: (n: number) => boolean, expected: string): number {
  const s = flagStr(p, name);
  if (s === undefined) return def;
  const n = Number(s);
  if (!Number.isFinite(n) || !check(n)) {
    throw new ShitateError('E_USAGE', `data: --${name} expects ${expected}, found "${s}"`, 'run `shitate data --help`');
  }
  return n;
}

function importOptions(p: Parsed): ImportOptions {
  const format = flagStr(p, 'format');
  if (format !== undefined && !(FORMATS as readonly string[]).includes(format)) {
    throw new ShitateError('E_USAGE', `data: --format expects one of ${FORMATS.join(', ')}, found "${format}"`, 'leave --format out to detect the format');
  }
  if (flagBool(p, 'header') && flagBool(p, 'no-header')) {
    throw new ShitateError('E_USAGE', 'data: --header and --no-header were both given', 'pass one of them, or neither to detect the header');
  }
  return {
    format, encoding: flagStr(p, 'encoding'), sheet: flagStr(p, 'sheet'),
    questionCol: flagStr(p, 'question-col') ?? flagStr(p, 'text-col'), answerCol: flagStr(p, 'answer-col'),
    categoryCol: flagStr(p, 'category-col') ?? flagStr(p, 'label-col'), systemCol: flagStr(p, 'system-col'),
    header: flagBool(p, 'header') ? true : flagBool(p, 'no-header') ? false : undefined,
    system: flagStr(p, 'system'),
    chunkChars: numberFlag(p, 'chunk-chars', 2000, (n) => Number.isInteger(n) && n >= 100, 'a whole number of characters >= 100'),
  };
}

function checkOptions(p: Parsed): CheckOptions {
  const lang = flagStr(p, 'lang');
  if (lang !== undefined && lang !== 'ja' && lang !== 'en') {
    throw new ShitateError('E_USAGE', `data: --lang expects ja or en, found "${lang}"`, 'leave --lang out to follow the locale');
  }
  const model = flagStr(p, 'model') ?? null;
  const counter = model ? tokenCounter(model) : null;
  const maxFlag = numberFlag(p, 'max-tokens', 0, (n) => Number.isInteger(n) && n > 0, 'a whole number of tokens > 0');
  if (maxFlag > 0 && !counter) {
    throw new ShitateError('E_USAGE', 'data: --max-tokens needs --model (tokens are counted with the model\'s tokenizer)', 'add --model DIR');
  }
  return {
    onProgress: progressLine(),
    import: importOptions(p),
    validate: { countTokens: counter?.countTokens ?? null, maxTokens: maxFlag > 0 ? maxFlag : counter?.context ?? null, piiAllow: piiAllowlist(p) },
    templateIssues: counter?.templateIssues ?? null,
    lang: detectLang(lang),
    model,
  };
}

/** A self-overwriting progress line on an interactive terminal (big files take a while); none otherwise. */
function progressLine(): ((examples: number, file: string) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (n, file) => process.stderr.write(`\r  ${n.toLocaleString('en-US')} examples checked (${file})\x1b[K`);
}

function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

async function runCheck(p: Parsed, files: string[]): Promise<number> {
  const c = await checkFiles(files, flagList(p, 'val'), checkOptions(p));
  endProgress();
  process.stdout.write(flagBool(p, 'json') ? `${JSON.stringify(c.report, null, 2)}\n` : renderTerminal(c.report));
  const html = flagStr(p, 'html');
  if (html) writeFileAtomic(html, renderHtml(c.report));
  return c.report.errors > 0 || (flagBool(p, 'strict') && c.report.warnings > 0) ? 1 : 0;
}

async function runPrepare(p: Parsed, files: string[]): Promise<number> {
  const outDir = flagStr(p, 'out');
  if (!outDir) throw new ShitateError('E_USAGE', 'data prepare: --out DIR is required', 'e.g. shitate data prepare faq.csv --out data/');
  if (flagList(p, 'val').length > 0) {
    throw new ShitateError('E_USAGE', 'data prepare: --val is for `data check`; prepare makes the validation set itself', 'use --val-ratio to size it');
  }
  const valRatio = numberFlag(p, 'val-ratio', 0.1, (n) => n >= 0 && n < 1, 'a number in [0, 1)');
  const seed = numberFlag(p, 'seed', 42, (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff, 'a whole number >= 0');
  const task = flagStr(p, 'task') ?? 'chat';
  if (task !== 'chat' && task !== 'classify') throw new ShitateError('E_USAGE', `data prepare: --task expects chat or classify, found "${task}"`, 'leave --task out for chat examples');
  const c = await checkFiles(files, [], checkOptions(p));
  endProgress();
  if (task === 'classify') return writeClassify(p, c, { outDir, valRatio, seed });
  const ctx = contextFlags(p, seed);
  const r = prepare(c, { outDir, valRatio, seed, dedup: flagBool(p, 'dedup'), redactPii: flagBool(p, 'redact-pii'), skipInvalid: flagBool(p, 'skip-invalid') });
  process.stdout.write(flagBool(p, 'json') ? `${JSON.stringify(r.report, null, 2)}\n` : renderTerminal(r.report));
  if (r.written && ctx) {
    const written = (r.report.outputs ?? []).filter((f) => f.endsWith('.jsonl'));
    const lang = languageOfTexts(written.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').slice(0, 50)));
    process.stdout.write(contextSummary(await prepareWithContext(written, ctx, lang), ctx.bases));
  }
  return r.written ? 0 : 1;
}

/** --with-context and its options, checked before anything is written (null without --with-context). */
function contextFlags(p: Parsed, seed: number): ContextFlags | null {
  const bases = flagList(p, 'with-context');
  if (bases.length === 0) return null;
  return {
    bases, model: flagStr(p, 'model') ?? null, assistant: flagStr(p, 'assistant') ?? null, language: flagStr(p, 'language') ?? null,
    refuseShare: numberFlag(p, 'refuse-share', 0.15, (n) => n >= 0 && n < 1, 'a number in [0, 1)'),
    refusal: flagStr(p, 'refusal') ?? null, cite: !flagBool(p, 'no-cite'), seed,
  };
}

/** prepare --task classify: labeled texts for a classifier, with the labels' train / val counts. */
function writeClassify(p: Parsed, c: CheckOutcome, o: { outDir: string; valRatio: number; seed: number }): number {
  const r = prepareClassify(c, { ...o, dedup: flagBool(p, 'dedup'), redactPii: flagBool(p, 'redact-pii'), skipInvalid: flagBool(p, 'skip-invalid') });
  process.stdout.write(flagBool(p, 'json') ? `${JSON.stringify(r.report, null, 2)}\n` : `${renderTerminal(r.report)}${classifySummary(r, r.report.lang)}`);
  return r.written ? 0 : 1;
}

export const data: Command = {
  summary: 'check training data and prepare clean train/val files (CSV, Excel, JSONL, text)',
  async run(argv) {
    const p = parseFlags('data', argv, FLAGS, true);
    const [sub, ...files] = p.positionals;
    if (flagBool(p, 'help') || sub === undefined) {
      process.stdout.write(usage);
      return sub === undefined && !flagBool(p, 'help') ? 2 : 0;
    }
    if (sub !== 'check' && sub !== 'prepare') {
      throw new ShitateError('E_USAGE', `data: unknown subcommand "${sub}"; expected check or prepare`, 'run `shitate data --help`');
    }
    if (files.length === 0) throw new ShitateError('E_USAGE', `data ${sub}: expected at least one FILE`, `e.g. shitate data ${sub} faq.csv`);
    return sub === 'check' ? runCheck(p, files) : runPrepare(p, files);
  },
};
