// Classification data: {"text", "label"} JSONL (what `data prepare --task classify` writes; "question" /
// "category" are read too), the label list (first appearance in the training file, or the run's saved list on
// resume), a validation split stratified by label, and class weights for imbalanced labels.
import fs from 'node:fs';
import { ShitateError } from '../errors.js';
import { Rng } from '../kernels/rng.js';
import type { TrainConfig } from './config.js';

export interface LabeledText {
  text: string;
  label: string;
  /** "file:line", for reports */
  source: string;
}

const TEXT_KEYS = ['text', 'question', 'input', 'sentence'] as const;
const LABEL_KEYS = ['label', 'category', 'class'] as const;

/** The labeled texts of a JSONL file. Labels may be strings or numbers (kept as their text). */
export function readLabeledJsonl(file: string): LabeledText[] {
  if (!fs.existsSync(file)) throw new ShitateError('E_NOT_FOUND', `expected classification data at ${file}, found no such file`, 'make it with: shitate data prepare FILE --task classify --out DIR');
  const out: LabeledText[] = [];
  fs.readFileSync(file, 'utf8').split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file}:${i + 1}`;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new ShitateError('E_DATA', `${where}: expected one JSON object per line, found invalid JSON`, 'each line holds {"text": "...", "label": "..."}');
    }
    const text = TEXT_KEYS.map((k) => rec?.[k]).find((v) => typeof v === 'string');
    const label = LABEL_KEYS.map((k) => rec?.[k]).find((v) => typeof v === 'string' || typeof v === 'number');
    if (typeof text !== 'string' || label === undefined || String(label).trim() === '') {
      throw new ShitateError('E_DATA', `${where}: expected {"text": string, "label": string or number}, found keys ${JSON.stringify(Object.keys(rec ?? {}))}`,
        'classification data holds one text and its label per line; `shitate data prepare FILE --task classify` writes it from a sheet');
    }
    out.push({ text, label: String(label).trim(), source: where });
  });
  if (out.length === 0) throw new ShitateError('E_DATA', `${file}: expected labeled texts, found none`, 'check the file');
  return out;
}

/** Per label, in a fixed shuffled order, the share `ratio` of its texts (rounded, none of a label's only text). */
export function stratifiedSplit(rows: LabeledText[], ratio: number, seed: number): [LabeledText[], LabeledText[]] {
  const byLabel = new Map<string, number[]>();
  rows.forEach((r, i) => byLabel.set(r.label, [...(byLabel.get(r.label) ?? []), i]));
  const val = new Set<number>();
  const rng = new Rng(seed);
  for (const idx of byLabel.values()) {
    const n = idx.length < 2 ? 0 : Math.max(ratio > 0 ? 1 : 0, Math.round(idx.length * ratio));
    for (const i of rng.shuffle([...idx]).slice(0, Math.min(n, idx.length - 1))) val.add(i);
  }
  return [rows.filter((_, i) => !val.has(i)), rows.filter((_, i) => val.has(i))];
}

export interface ClassifyData {
  labels: string[];
  train: LabeledText[];
  val: LabeledText[];
  notes: string[];
}

export function loadClassifyData(c: Pick<TrainConfig, 'data' | 'val' | 'valSplit' | 'seed'>, savedLabels: string[] | null): ClassifyData {
  const all = readLabeledJsonl(c.data);
  const notes: string[] = [];
  const [train, val] = c.val ? [all, readLabeledJsonl(c.val)] : stratifiedSplit(all, c.valSplit, c.seed);
  if (!c.val && val.length > 0) notes.push(`validation: ${val.length} of ${all.length} texts held out, stratified by label (seed ${c.seed})`);
  const labels = savedLabels ?? [...new Set(train.map((r) => r.label))];
  if (labels.length < 2) {
    throw new ShitateError('E_DATA', `${c.data}: expected at least 2 labels, found ${labels.length} (${labels.join(', ')})`, 'a classifier needs texts of two or more labels');
  }
  const known = new Set(labels);
  const unseen = [...new Set([...train, ...val].map((r) => r.label).filter((l) => !known.has(l)))];
  if (unseen.length > 0) {
    const where = savedLabels ? 'the labels this run started with' : `the training data (${c.data})`;
    throw new ShitateError('E_DATA', `expected only labels of ${where}, found ${unseen.map((l) => JSON.stringify(l)).join(', ')}`,
      savedLabels ? 'resume with the same data, or start a new run' : 'give every label some training texts, or leave those validation texts out');
  }
  if (val.length === 0) notes.push('no validation texts (too few per label to hold any out): early stopping and the best checkpoint are off');
  return { labels, train, val, notes };
}

/** Texts per label id. */
export function labelCounts(rows: readonly LabeledText[], labels: readonly string[]): number[] {
  const counts = labels.map(() => 0);
  const id = new Map(labels.map((l, i) => [l, i]));
  for (const r of rows) counts[id.get(r.label)!]++;
  return counts;
}

/** sklearn's "balanced" weights n / (K * count) (labels without texts get 0); `auto` uses them when the commonest
 *  label has at least 3x the texts of the rarest. Returns the weights (or null) and a note saying what was chosen. */
export function classWeightsFor(mode: TrainConfig['classWeights'], counts: number[], labels: readonly string[]): { weights: Float32Array | null; note: string } {
  const present = counts.filter((n) => n > 0);
  const ratio = Math.max(...present) / Math.min(...present);
  const on = mode === 'balanced' || (mode === 'auto' && ratio >= 3);
  const spread = `the commonest label has ${ratio.toFixed(1)}x the texts of the rarest`;
  if (!on) return { weights: null, note: `class weights: none (${spread}${mode === 'auto' ? '; auto weights from 3x' : ''})` };
  const n = counts.reduce((a, b) => a + b, 0);
  const weights = Float32Array.from(counts, (k) => (k > 0 ? n / (counts.length * k) : 0));
  const shown = labels.map((l, i) => `${l} ${weights[i].toFixed(2)}`).join(', ');
  return { weights, note: `class weights: balanced (${spread}): ${shown}` };
}
