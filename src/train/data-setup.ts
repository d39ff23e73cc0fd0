// Loads and tokenizes the training and validation sets for a run: a held-out split of the training file
// when no validation file is given, truncation to the context, and warnings worth reading.
import { ShitateError } from '../errors.js';
import { parseTemplateVars, trainingTemplateVars, type TemplateVars, type Tokenizer } from '../tokenizer/index.js';
import { readRecords, tokenizeRecords, type Record_, type TokenizedData } from './dataset.js';
import { Rng } from '../kernels/rng.js';
import type { TrainConfig } from './config.js';

export interface RunData {
  train: TokenizedData;
  val: TokenizedData | null;
  warnings: string[];
  /** the chat template variables the data was rendered with (saved with the adapter) */
  templateVars: TemplateVars;
  /** how the settings were read, for the user (e.g. the thinking-mode default) */
  notes: string[];
}

export function splitRecords(recs: Record_[], share: number, seed: number): [Record_[], Record_[]] {
  if (share <= 0 || recs.length < 10) return [recs, []];
  const order = new Rng(seed ^ 0x5eed).shuffle(recs.map((_, i) => i));
  const nVal = Math.max(1, Math.round(recs.length * share));
  const valIdx = new Set(order.slice(0, nVal));
  return [recs.filter((_, i) => !valIdx.has(i)), recs.filter((_, i) => valIdx.has(i))];
}

/** The chat template variables of a run: its chat_template_kwargs with training's defaults. */
export function runTemplateVars(c: Pick<TrainConfig, 'chatTemplateKwargs'>, tok: Tokenizer): { vars: TemplateVars; note: string | null } {
  return trainingTemplateVars(tok, parseTemplateVars(c.chatTemplateKwargs ?? null, 'chat_template_kwargs'));
}

/** `embedSize`: the model's vocab_size, when the tokenizer has ids beyond it (they must not occur). */
export function loadRunData(c: TrainConfig, tok: Tokenizer, endIds: number[], maxSeqLen: number, embedSize?: number): RunData {
  const warnings: string[] = [];
  const { vars: templateVars, note } = runTemplateVars(c, tok);
  const opts = { templateVars, ...(embedSize !== undefined && embedSize < tok.vocabSize ? { embedSize } : {}) };
  let trainRecs = readRecords(c.data, c.mode);
  let valRecs: Record_[] = [];
  if (c.val) valRecs = readRecords(c.val, trainRecs[0].mode);
  else {
    [trainRecs, valRecs] = splitRecords(trainRecs, c.valSplit, c.seed);
    if (valRecs.length) warnings.push(`no --val given: held out ${valRecs.length} of ${valRecs.length + trainRecs.length} examples for validation (val_split ${c.valSplit})`);
    else warnings.push('no validation data (fewer than 10 examples or val_split 0): early stopping and the best checkpoint are off');
  }
  const train = tokenizeRecords(trainRecs, tok, endIds, maxSeqLen, opts);
  const val = valRecs.length ? tokenizeRecords(valRecs, tok, endIds, maxSeqLen, opts) : null;
  for (const [name, d] of [['training', train], ['validation', val]] as const) {
    if (!d) continue;
    if (d.truncated) warnings.push(`${d.truncated} ${name} examples are longer than max_seq_len ${maxSeqLen} tokens and were truncated`);
    if (d.dropped) warnings.push(`${d.dropped} ${name} examples had no answer tokens left after truncation and were skipped`);
    if (d.appendedEos) warnings.push(`the chat template closes assistant turns without an end token; the eos token was appended to ${d.appendedEos} ${name} examples so the model learns to stop`);
  }
  if (train.examples.length === 0) {
    throw new ShitateError('E_DATA', `${c.data}: expected examples with answer tokens, found none after tokenization`,
      'check that assistant messages/completions are not empty and fit max_seq_len');
  }
  return { train, val, warnings, templateVars, notes: note && train.mode === 'chat' ? [note] : [] };
}
