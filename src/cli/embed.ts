// `shitate embed`: sentence embeddings from a local encoder folder (multilingual-e5, bge-m3, ruri, ...), with the
// pooling, normalisation and query/passage prompts its sentence-transformers files name. Writes JSONL (one
// {"index", "text", "embedding"} per text) or, with --similarity, the cosine similarities of the texts.
import fs from 'node:fs';
import type { Command } from './main.js';
import { flagBool, flagStr, parseFlags, type Parsed } from './args.js';
import { ShitateError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { SentenceEmbedder, type EmbedderOptions, type TextKind } from '../models/sentence-embedder.js';

const usage = `usage: shitate embed --model DIR [--query | --passage] [options] TEXT...
       shitate embed --model DIR --file FILE [--out FILE] [options]

Sentence embeddings from a local encoder folder (BERT, RoBERTa, XLM-RoBERTa or ModernBERT with tokenizer.json):
pooling and normalisation as the folder's sentence-transformers files (modules.json, 1_Pooling) say, mean
pooling without them. Texts get the model's query or passage prompt when asked (e5 models: "query: " /
"passage: "; prompts in config_sentence_transformers.json are used as given).

options:
  --model, -m DIR        the encoder folder
  --query / --passage    prepend the model's query or passage prompt (default: the text as given)
  --query-prefix TEXT    the query prompt to use instead of the model's
  --passage-prefix TEXT  the passage prompt to use instead of the model's
  --file FILE            texts to embed: one per line, or JSONL with a "text" field
  --out FILE             write the JSONL there (default: standard output)
  --normalize / --no-normalize   force L2 normalisation on or off (default: the model's Normalize module)
  --max-length N         truncate texts to N tokens (default: max_seq_length, else the model's limit)
  --similarity           print the cosine similarity of every pair of texts instead of the vectors
`;

const FLAGS = {
  model: { type: 'string', short: 'm' }, query: { type: 'boolean' }, passage: { type: 'boolean' }, 'query-prefix': { type: 'string' },
  'passage-prefix': { type: 'string' }, file: { type: 'string' }, out: { type: 'string' }, normalize: { type: 'boolean' },
  'no-normalize': { type: 'boolean' }, 'max-length': { type: 'string' }, similarity: { type: 'boolean' },
} as const;

/** Texts of a file: JSONL records with "text", else one per non-empty line. */
export function readTexts(file: string, what: string): string[] {
  if (!fs.existsSync(file)) throw new ShitateError('E_NOT_FOUND', `${what}: expected a file at ${file}, found none`, 'check the path');
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  if (!/\.jsonl?$/i.test(file)) return lines;
  return lines.map((l, i) => {
    let rec: unknown;
    try {
      rec = JSON.parse(l);
    } catch {
      throw new ShitateError('E_DATA', `${file}:${i + 1}: expected a JSON object per line, found invalid JSON`, 'use one {"text": ...} object per line, or a .txt file with one text per line');
    }
    const text = (rec as { text?: unknown } | null)?.text;
    if (typeof text !== 'string') throw new ShitateError('E_DATA', `${file}:${i + 1}: expected a "text" string, found ${JSON.stringify(text) ?? 'none'}`, 'each line needs {"text": "..."}');
    return text;
  });
}

export function embedderOptions(p: Parsed): EmbedderOptions {
  if (flagBool(p, 'normalize') && flagBool(p, 'no-normalize')) throw new ShitateError('E_USAGE', 'embed: --normalize and --no-normalize were both given', 'pass one of them');
  const max = flagStr(p, 'max-length');
  const maxLength = max === undefined ? undefined : Number(max);
  if (maxLength !== undefined && !(Number.isInteger(maxLength) && maxLength >= 2)) {
    throw new ShitateError('E_USAGE', `embed: --max-length expects a whole number >= 2, found "${max}"`, 'e.g. --max-length 512');
  }
  const qp = flagStr(p, 'query-prefix');
  const pp = flagStr(p, 'passage-prefix');
  return {
    ...(qp !== undefined ? { queryPrefix: qp } : {}), ...(pp !== undefined ? { passagePrefix: pp } : {}),
    ...(flagBool(p, 'normalize') ? { normalize: true } : flagBool(p, 'no-normalize') ? { normalize: false } : {}),
    ...(maxLength !== undefined ? { maxLength } : {}),
  };
}

function similarityTable(texts: string[], v: Float32Array[]): string {
  const cos = (a: Float32Array, b: Float32Array) => {
    let d = 0, na = 0, nb = 0;
    for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
    return d / Math.sqrt(na * nb || 1);
  };
  const lines = texts.map((t, i) => `[${i + 1}] ${t}`);
  lines.push('', `     ${texts.map((_, j) => `[${j + 1}]`.padStart(7)).join('')}`);
  texts.forEach((_, i) => lines.push(`[${i + 1}]`.padEnd(5) + texts.map((__, j) => cos(v[i], v[j]).toFixed(3).padStart(7)).join('')));
  return lines.join('\n') + '\n';
}

export const embedCommand: Command = {
  summary: 'sentence embeddings from a local encoder model (JSONL, or cosine similarities)',
  async run(argv) {
    const p = parseFlags('embed', argv, FLAGS, true);
    if (flagBool(p, 'help')) {
      process.stdout.write(usage);
      return 0;
    }
    const dir = flagStr(p, 'model');
    if (!dir) throw new ShitateError('E_USAGE', 'embed: expected --model DIR, found none', 'e.g. shitate embed --model ./multilingual-e5-small --query "送料はいくら？"');
    if (flagBool(p, 'query') && flagBool(p, 'passage')) throw new ShitateError('E_USAGE', 'embed: --query and --passage were both given', 'pass one of them');
    const file = flagStr(p, 'file');
    const texts = [...(file ? readTexts(file, 'embed --file') : []), ...p.positionals];
    if (texts.length === 0) throw new ShitateError('E_USAGE', 'embed: expected texts (arguments or --file), found none', 'e.g. shitate embed --model DIR "送料はいくら？"');
    const kind: TextKind = flagBool(p, 'query') ? 'query' : flagBool(p, 'passage') ? 'passage' : 'none';
    const embedder = new SentenceEmbedder(dir, embedderOptions(p));
    const { vectors } = embedder.embed(texts, kind);
    const text = flagBool(p, 'similarity') ? similarityTable(texts, vectors)
      : vectors.map((v, i) => JSON.stringify({ index: i, text: texts[i], embedding: Array.from(v) })).join('\n') + '\n';
    const out = flagStr(p, 'out');
    if (out) {
      writeFileAtomic(out, text);
      process.stderr.write(`${texts.length} embeddings of ${embedder.dims} dimensions (${embedder.config.source}) -> ${out}\n`);
    } else {
      process.stdout.write(text);
    }
    return 0;
  },
};
