// `shitate eval --task classify`: a classifier (an encoder with each SEQ_CLS adapter, or a fine-tuned
// classification model alone) on labeled held-out texts; prints the report and writes OUT/classify-eval.json and
// classify-eval.html (one pair per adapter when several are given).
import path from 'node:path';
import { flagBool, flagList, flagStr, parseFlags } from './args.js';
import { ShitateError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { isEncoderFolder } from '../models/encoder-load.js';
import { readLabeledJsonl } from '../train/classify-data.js';
import { openClassifier } from '../eval/classifier.js';
import { runClassifyEval } from '../eval/classify-eval.js';
import { classifyHtml, classifyTable } from '../eval/classify-report.js';

export const CLASSIFY_EVAL_USAGE = `usage: shitate eval --task classify --model DIR [--adapter DIR]... --data val.jsonl [--out DIR] [--json]

Scores a classifier on labeled texts ({"text", "label"} JSONL, as \`data prepare --task classify\` writes):
accuracy, macro-F1, weighted-F1, precision / recall / F1 per label, the confusion matrix and every
misclassified text, beside the majority-class baseline. Each --adapter (a \`train --task classify\` adapter)
is scored on the model; without one the model's own fine-tuned head is. Writes OUT/classify-eval.json and
OUT/classify-eval.html (default OUT: evals/<date>-<time>).
`;

/** Whether eval's arguments ask for classification: --task classify, or a --model that is an encoder folder. */
export function wantsClassifyEval(argv: readonly string[]): boolean {
  const at = (flag: string, short?: string): string | undefined => {
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] === flag || (short && argv[i] === short)) return argv[i + 1];
      if (argv[i].startsWith(`${flag}=`)) return argv[i].slice(flag.length + 1);
    }
    return undefined;
  };
  const task = at('--task');
  if (task !== undefined) return task === 'classify';
  const model = at('--model', '-m');
  return model !== undefined && isEncoderFolder(model);
}

function defaultOut(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return path.join('evals', `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`);
}

export async function evalClassify(argv: string[]): Promise<number> {
  const p = parseFlags('eval', argv, {
    task: { type: 'string' }, model: { type: 'string', short: 'm' }, adapter: { type: 'string', multiple: true }, data: { type: 'string' },
    out: { type: 'string' }, json: { type: 'boolean' }, 'max-length': { type: 'string' },
  });
  if (flagBool(p, 'help')) {
    process.stdout.write(CLASSIFY_EVAL_USAGE);
    return 0;
  }
  const model = flagStr(p, 'model');
  const data = flagStr(p, 'data');
  if (!model || !data) throw new ShitateError('E_USAGE', `eval --task classify: expected --model and --data, found ${!model ? 'no --model' : 'no --data'}`, 'e.g. shitate eval --task classify --model DIR --adapter RUN/adapter --data val.jsonl');
  const max = flagStr(p, 'max-length');
  const rows = readLabeledJsonl(data);
  const out = flagStr(p, 'out') ?? defaultOut();
  const adapters = flagList(p, 'adapter');
  const results = [];
  for (const [i, adapter] of (adapters.length > 0 ? adapters : [null]).entries()) {
    const cl = openClassifier(model, adapter, max ? { maxLength: Number(max) } : {});
    const r = runClassifyEval(cl, rows, data);
    results.push(r);
    const suffix = adapters.length > 1 ? `-${i + 1}` : '';
    writeFileAtomic(path.join(out, `classify-eval${suffix}.json`), `${JSON.stringify(r, null, 2)}\n`);
    writeFileAtomic(path.join(out, `classify-eval${suffix}.html`), classifyHtml(r));
    if (!flagBool(p, 'json')) process.stdout.write(`${i > 0 ? '\n' : ''}${classifyTable(r)}`);
  }
  if (flagBool(p, 'json')) process.stdout.write(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`);
  process.stderr.write(`report: ${path.join(out, 'classify-eval.html')}${adapters.length > 1 ? ' (one per adapter)' : ''}\n`);
  return 0;
}
