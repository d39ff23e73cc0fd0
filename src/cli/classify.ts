// `shitate classify`: route texts to labels with a trained classifier (an encoder with the SEQ_CLS adapter of
// `train --task classify`, or a fine-tuned classification model alone); one label per text with its probability,
// or JSONL for batches (--file), label names from the adapter's labels.json or the model's id2label.
import type { Command } from './main.js';
import { flagBool, flagStr, parseFlags } from './args.js';
import { ShitateError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { classify, openClassifier, type Prediction } from '../eval/classifier.js';
import { readTexts } from './embed.js';

const usage = `usage: shitate classify --model DIR [--adapter DIR] [--top N] [--json] TEXT...
       shitate classify --model DIR [--adapter DIR] --file FILE [--out FILE]

Puts each text into one of the classifier's labels: --adapter is the adapter folder \`shitate train --task
classify\` wrote (RUN_DIR/adapter: LoRA + classification head, labels.json); without it --model must be a
fine-tuned classification model (its config.json id2label names the labels).

options:
  --model, -m DIR     the encoder folder the adapter was trained on (or a fine-tuned classifier)
  --adapter DIR       the classification adapter
  --file FILE         texts to classify: one per line, or JSONL with a "text" field; writes JSONL
  --out FILE          where --file's JSONL goes (default: standard output)
  --top N             also show the N most likely labels with their probabilities (default 1)
  --json              print JSONL for TEXT arguments too
  --max-length N      truncate texts to N tokens (default: the model's limit)
`;

function record(text: string, p: Prediction, labels: string[]): string {
  return JSON.stringify({ text, label: p.label, score: Number(p.score.toFixed(6)), probs: Object.fromEntries(labels.map((l, i) => [l, Number(p.probs[i].toFixed(6))])), logits: p.logits });
}

function human(text: string, p: Prediction, labels: string[], top: number): string {
  const ranked = labels.map((l, i) => [l, p.probs[i]] as const).sort((a, b) => b[1] - a[1]).slice(0, top);
  const rest = ranked.slice(1).map(([l, s]) => `${l} ${s.toFixed(3)}`).join(', ');
  return `${p.label}\t${p.score.toFixed(3)}\t${text}${rest ? `\t(${rest})` : ''}`;
}

export const classifyCommand: Command = {
  summary: 'put texts into the labels of a trained classifier (encoder + classification adapter)',
  async run(argv) {
    const p = parseFlags('classify', argv, {
      model: { type: 'string', short: 'm' }, adapter: { type: 'string' }, file: { type: 'string' }, out: { type: 'string' },
      top: { type: 'string' }, json: { type: 'boolean' }, 'max-length': { type: 'string' },
    }, true);
    if (flagBool(p, 'help')) {
      process.stdout.write(usage);
      return 0;
    }
    const model = flagStr(p, 'model');
    if (!model) throw new ShitateError('E_USAGE', 'classify: expected --model DIR, found none', 'e.g. shitate classify --model ./ruri-small --adapter runs/router/adapter "返品したい"');
    const file = flagStr(p, 'file');
    const texts = [...(file ? readTexts(file, 'classify --file') : []), ...p.positionals];
    if (texts.length === 0) throw new ShitateError('E_USAGE', 'classify: expected texts (arguments or --file), found none', 'e.g. shitate classify --model DIR --adapter RUN/adapter "送料はいくら？"');
    const top = Number(flagStr(p, 'top') ?? '1');
    if (!Number.isInteger(top) || top < 1) throw new ShitateError('E_USAGE', `classify: --top expects a whole number >= 1, found "${flagStr(p, 'top')}"`, 'e.g. --top 3');
    const max = flagStr(p, 'max-length');
    const cl = openClassifier(model, flagStr(p, 'adapter') ?? null, max ? { maxLength: Number(max) } : {});
    const preds = classify(cl, texts);
    const jsonl = file !== undefined || flagBool(p, 'json');
    const text = preds.map((x, i) => (jsonl ? record(texts[i], x, cl.labels) : human(texts[i], x, cl.labels, top))).join('\n') + '\n';
    const out = flagStr(p, 'out');
    if (out) {
      writeFileAtomic(out, text);
      process.stderr.write(`${texts.length} texts classified into ${cl.labels.length} labels -> ${out}\n`);
    } else {
      process.stdout.write(text);
    }
    return 0;
  },
};
