// The data of a job: the training file and the validation examples exactly as `shitate train` would use them
// (the --val file, else the same seeded held-out split), tokenized here with the model's template to size the
// batches, and written back as JSONL (OpenAI messages for chat data) for the GPU engines.
import type { Tokenizer } from '../../tokenizer/index.js';
import { readRecords, tokenizeRecords, type DataMode, type Record_, type TokenizedData } from '../../train/dataset.js';
import { splitRecords } from '../../train/data-setup.js';
import type { TrainConfig } from '../../train/config.js';
import { ShitateError } from '../../errors.js';
import type { JobData } from './types.js';

export interface PreparedData {
  mode: DataMode;
  train: Record_[];
  val: Record_[];
  valSource: JobData['valSource'];
  tokenized: TokenizedData;
  valTokenized: TokenizedData | null;
}

/** `embedSize`: the model's vocab_size when the tokenizer has ids beyond it (they must not occur) */
export function prepareData(c: TrainConfig, tok: Tokenizer, endIds: number[], maxSeqLen: number, templateVars: Record<string, unknown>,
  embedSize?: number): PreparedData {
  let train = readRecords(c.data, c.mode);
  let val: Record_[] = [];
  let valSource: JobData['valSource'] = 'none';
  if (c.val) {
    val = readRecords(c.val, train[0].mode);
    valSource = 'file';
  } else {
    [train, val] = splitRecords(train, c.valSplit, c.seed);
    if (val.length) valSource = 'split';
  }
  const opts = { templateVars, ...(embedSize !== undefined ? { embedSize } : {}) };
  const tokenized = tokenizeRecords(train, tok, endIds, maxSeqLen, opts);
  if (tokenized.examples.length === 0) {
    throw new ShitateError('E_DATA', `${c.data}: expected examples with answer tokens, found none after tokenization`,
      'check that assistant messages/completions are not empty and fit max_seq_len');
  }
  const valTokenized = val.length ? tokenizeRecords(val, tok, endIds, maxSeqLen, opts) : null;
  return { mode: train[0].mode, train, val, valSource, tokenized, valTokenized };
}

/** One record as a JSONL line: {"messages": [...]} (extra message fields kept), {"prompt","completion"}, {"text"} */
export function recordLine(r: Record_): string {
  const obj = r.mode === 'chat' ? { messages: r.messages } : r.mode === 'completion' ? { prompt: r.prompt, completion: r.completion } : { text: r.text };
  return JSON.stringify(obj);
}

export function jsonl(records: readonly Record_[]): string {
  return records.map((r) => recordLine(r) + '\n').join('');
}

export function dataSummary(d: PreparedData, maxSeqLen: number): Omit<JobData, 'train' | 'val'> {
  const lengths = d.tokenized.examples.map((e) => e.ids.length);
  return {
    mode: d.mode, trainExamples: d.train.length, valExamples: d.val.length, maxSeqLen, longest: Math.max(...lengths),
    meanLength: lengths.reduce((a, b) => a + b, 0) / lengths.length, truncated: d.tokenized.truncated, dropped: d.tokenized.dropped,
    appendedEos: d.tokenized.appendedEos, targetTokens: d.tokenized.targetTokens, valSource: d.valSource,
  };
}

/** Conversations LLaMA-Factory's converter drops: it wants an optional leading system message, then user
 *  and assistant turns strictly alternating (tool results standing for a user turn), ending with the assistant. */
export function nonAlternating(records: readonly Record_[]): number[] {
  const bad: number[] = [];
  for (const r of records) {
    const roles = (r.messages ?? []).map((m) => m.role);
    const turns = roles[0] === 'system' ? roles.slice(1) : roles;
    const ok = turns.length >= 2 && turns.length % 2 === 0 &&
      turns.every((role, i) => (i % 2 === 0 ? role === 'user' || role === 'tool' : role === 'assistant'));
    if (!ok) bad.push(r.line);
  }
  return bad;
}
