// Preference data for training: reads pairs or judgments (data/preference-format.ts) from JSONL and tokenizes
// each completion after its prompt. A conversation is rendered with the model's template and masked as SFT
// masks it (chatLossMask), but only the completion's assistant turns are targets; plain text is prompt +
// completion + eos (completionLossMask). Sequences longer than max_seq_len keep their start (TRL's keep_start).
import fs from 'node:fs';
import { ShitateError } from '../errors.js';
import type { ChatMessage, Tokenizer } from '../tokenizer/index.js';
import { chatLossMask, completionLossMask, type MaskedTokens } from '../tokenizer/loss-mask.js';
import { explainRefusal } from '../tokenizer/system-role.js';
import { checkIdsFit } from '../tokenizer/embedding.js';
import { isPreferenceObject, isProblem, parsePreference, unpair, type LabelRecord, type PreferenceRecord, type PrefSide } from '../data/preference-format.js';
import type { Example } from './batching.js';

export interface PrefLine {
  record: PreferenceRecord;
  file: string;
  line: number;
}

export interface PairExample {
  chosen: Example;
  rejected: Example;
  source: string;
}

export interface LabelExample {
  /** prompt + completion, the completion's tokens masked */
  seq: Example;
  label: boolean;
  /** [promptEnd, completionEnd): the completion's tokens in seq (KTO's mismatched pairs splice them) */
  promptEnd: number;
  completionEnd: number;
  source: string;
}

export interface PrefTokenizeOptions {
  templateVars?: Record<string, unknown>;
  /** the model's embedding rows, when the tokenizer has ids beyond them */
  embedSize?: number;
}

export interface TokenizedPreference<E> {
  examples: E[];
  truncated: number;
  /** sequences left without a completion token after truncation (their example is skipped) */
  dropped: number;
  appendedEos: number;
}

/** Reads a preference JSONL file; every line must be a pair or every line a judgment. */
export function readPreferenceLines(file: string): PrefLine[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ShitateError('E_NOT_FOUND', `expected a data file at ${file}, found ${(e as NodeJS.ErrnoException).code}`, 'check the --data / --val path');
  }
  const out: PrefLine[] = [];
  text.split(/\r?\n/).forEach((raw, idx) => {
    if (!raw.trim()) return;
    const where = `${file}:${idx + 1}`;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      throw new ShitateError('E_DATA', `${where}: expected one JSON object per line, found invalid JSON (${(e as Error).message})`, 'run `shitate data check` on the file for a full report');
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj) || !isPreferenceObject(obj as Record<string, unknown>)) {
      const keys = obj && typeof obj === 'object' ? Object.keys(obj).join(', ') : typeof obj;
      throw new ShitateError('E_DATA', `${where}: expected a preference record ({"prompt", "chosen", "rejected"} or {"prompt", "completion", "label"}), found keys ${keys}`,
        'dpo and kto train on preferences; supervised data ({"messages"} with answers only) trains with --method lora');
    }
    const r = parsePreference(obj as Record<string, unknown>);
    if (isProblem(r)) throw new ShitateError('E_DATA', `${where}: expected "${r.field}" to be ${r.expected}`, 'run `shitate data check` on the file for a full report');
    if (out.length && out[0].record.kind !== r.kind) {
      throw new ShitateError('E_DATA', `${where}: a ${r.kind === 'pair' ? 'chosen/rejected pair' : 'labelled judgment'} in a file of ${out[0].record.kind === 'pair' ? 'pairs' : 'judgments'}`,
        'use one kind per file: pairs for dpo (kto reads pairs too), judgments with "label" for kto');
    }
    out.push({ record: r, file, line: idx + 1 });
  });
  if (out.length === 0) throw new ShitateError('E_DATA', `${file}: expected at least one preference record, found none`, 'the file is empty');
  return out;
}

/** The stable text of a prompt, to keep one prompt's records on one side of a split and to find them again. */
export function promptKey(p: PrefSide): string {
  return typeof p === 'string' ? `t${p}` : JSON.stringify(p.map((m) => [m.role, m.content]));
}

/** Tokens and mask of a completion after its prompt; refusals name the file and line. */
export function maskCompletion(tok: Tokenizer, prompt: PrefSide, completion: PrefSide, endIds: readonly number[], where: string,
  o: PrefTokenizeOptions = {}): MaskedTokens {
  let mt: MaskedTokens;
  if (typeof prompt === 'string' || typeof completion === 'string') {
    mt = completionLossMask(tok, String(prompt), String(completion), endIds[0] ?? tok.eosTokenId);
  } else {
    if (!completion.some((m) => m.role === 'assistant')) {
      throw new ShitateError('E_DATA', `${where}: expected the completion to hold an assistant message, found roles ${completion.map((m) => m.role).join(', ') || '(none)'}`,
        'a completion is the answer being judged: [{"role": "assistant", "content": ...}]');
    }
    const messages: ChatMessage[] = [...prompt, ...completion].map((m) => ({ ...m }));
    try {
      mt = chatLossMask(tok, messages, endIds, { ...(o.templateVars ? { templateVars: o.templateVars } : {}), fromMessage: prompt.length });
    } catch (e) {
      if (e instanceof ShitateError) throw explainRefusal(tok, messages, e, where, o.templateVars);
      throw e;
    }
  }
  if (o.embedSize !== undefined) checkIdsFit(tok, mt.ids, o.embedSize, where);
  return mt;
}

function targets(mask: ArrayLike<number>): number {
  let n = 0;
  for (let t = 1; t < mask.length; t++) n += mask[t];
  return n;
}

/** keep_start truncation to maxSeqLen; null when no target is left. */
function toExample(mt: MaskedTokens, maxSeqLen: number, source: string, tally: { truncated: number }): Example | null {
  const cut = mt.ids.length > maxSeqLen;
  if (cut) tally.truncated++;
  const ids = cut ? mt.ids.slice(0, maxSeqLen) : mt.ids;
  const mask = cut ? mt.mask.slice(0, maxSeqLen) : mt.mask;
  return targets(mask) > 0 ? { ids: Int32Array.from(ids), mask: Uint8Array.from(mask), source } : null;
}

export function tokenizePairs(lines: PrefLine[], tok: Tokenizer, endIds: readonly number[], maxSeqLen: number, o: PrefTokenizeOptions = {}): TokenizedPreference<PairExample> {
  const out: TokenizedPreference<PairExample> = { examples: [], truncated: 0, dropped: 0, appendedEos: 0 };
  for (const { record: r, file, line } of lines) {
    if (r.kind !== 'pair') {
      throw new ShitateError('E_DATA', `${file}:${line}: dpo needs chosen/rejected pairs, found a labelled judgment`,
        'train judgments ({"label": true|false}) with --method kto, or write pairs {"prompt", "chosen", "rejected"}');
    }
    const where = `${file}:${line}`;
    const c = maskCompletion(tok, r.prompt, r.chosen, endIds, where, o);
    const j = maskCompletion(tok, r.prompt, r.rejected, endIds, where, o);
    out.appendedEos += Number(c.appendedEos) + Number(j.appendedEos);
    const chosen = toExample(c, maxSeqLen, where, out);
    const rejected = toExample(j, maxSeqLen, where, out);
    if (!chosen || !rejected) out.dropped++;
    else out.examples.push({ chosen, rejected, source: where });
  }
  return out;
}

function completionRange(mask: Uint8Array): [number, number] {
  let a = 0;
  while (a < mask.length && !mask[a]) a++;
  let b = mask.length;
  while (b > a && !mask[b - 1]) b--;
  return [a, b];
}

/** Judgments for KTO; pairs are unpaired first (chosen desirable, rejected undesirable), as TRL does. */
export function tokenizeLabels(lines: PrefLine[], tok: Tokenizer, endIds: readonly number[], maxSeqLen: number, o: PrefTokenizeOptions = {}): TokenizedPreference<LabelExample> {
  const out: TokenizedPreference<LabelExample> = { examples: [], truncated: 0, dropped: 0, appendedEos: 0 };
  const judged: { r: LabelRecord; where: string }[] = lines.flatMap(({ record, file, line }) =>
    (record.kind === 'pair' ? unpair(record) : [record]).map((r) => ({ r, where: `${file}:${line}` })));
  for (const { r, where } of judged) {
    const mt = maskCompletion(tok, r.prompt, r.completion, endIds, where, o);
    out.appendedEos += Number(mt.appendedEos);
    const seq = toExample(mt, maxSeqLen, where, out);
    if (!seq) {
      out.dropped++;
      continue;
    }
    const [promptEnd, completionEnd] = completionRange(seq.mask);
    out.examples.push({ seq, label: r.label, promptEnd, completionEnd, source: where });
  }
  return out;
}
