// Reads a training file (JSONL) and tokenizes it for one of three modes: chat SFT ({"messages": [...]}),
// prompt/completion ({"prompt", "completion"}) or raw text ({"text"}); long examples are truncated.
import fs from 'node:fs';
import { ShitateError } from '../errors.js';
import type { ChatMessage, Tokenizer } from '../tokenizer/index.js';
import { chatLossMask, completionLossMask, textLossMask, type MaskedTokens } from '../tokenizer/loss-mask.js';
import { explainRefusal } from '../tokenizer/system-role.js';
import { checkIdsFit } from '../tokenizer/embedding.js';
import type { Example } from './batching.js';

export type DataMode = 'chat' | 'completion' | 'text';

export interface Record_ {
  mode: DataMode;
  messages?: ChatMessage[];
  prompt?: string;
  completion?: string;
  text?: string;
  line: number;
  /** the file it was read from, for messages */
  file?: string;
}

export interface TokenizeOptions {
  /** chat template variables (enable_thinking, ...) */
  templateVars?: Record<string, unknown>;
  /** rows of the model's embedding: a token id at or above it (a tokenizer larger than the model) is refused */
  embedSize?: number;
}

export interface TokenizedData {
  examples: Example[];
  mode: DataMode;
  /** examples cut to max_seq_len */
  truncated: number;
  /** examples left with no target token after truncation (dropped) */
  dropped: number;
  /** assistant spans that had no end-of-turn token and got the eos appended */
  appendedEos: number;
  targetTokens: number;
}

function detect(obj: Record<string, unknown>): DataMode | null {
  if (Array.isArray(obj.messages)) return 'chat';
  if (typeof obj.prompt === 'string' && typeof obj.completion === 'string') return 'completion';
  if (typeof obj.text === 'string') return 'text';
  return null;
}

function checkMessages(file: string, line: number, msgs: unknown[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const [i, m] of msgs.entries()) {
    const mm = m as Record<string, unknown> | null;
    if (!mm || typeof mm !== 'object' || typeof mm.role !== 'string' || typeof mm.content !== 'string') {
      throw new ShitateError('E_DATA', `${file}:${line}: message ${i + 1} must be {"role": string, "content": string}, found ${JSON.stringify(m)?.slice(0, 80)}`,
        'run `shitate data check` on the file for a full report');
    }
    out.push({ ...mm, role: mm.role, content: mm.content });
  }
  if (!out.some((m) => m.role === 'assistant')) {
    throw new ShitateError('E_DATA', `${file}:${line}: conversation has no assistant message, so nothing to learn from`,
      'every training conversation needs at least one {"role": "assistant", ...} turn');
  }
  return out;
}

/** Parses a JSONL file; every record must share one mode (or match `mode` when given). */
export function readRecords(file: string, mode: DataMode | 'auto' = 'auto'): Record_[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ShitateError('E_NOT_FOUND', `expected a data file at ${file}, found ${(e as NodeJS.ErrnoException).code}`, 'check the --data / --val path');
  }
  const recs: Record_[] = [];
  text.split(/\r?\n/).forEach((raw, idx) => {
    const line = idx + 1;
    if (!raw.trim()) return;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      throw new ShitateError('E_DATA', `${file}:${line}: expected one JSON object per line, found invalid JSON (${(e as Error).message})`,
        'run `shitate data check` to find every broken line, or `shitate data prepare` to convert CSV/Excel');
    }
    const o = obj as Record<string, unknown>;
    const m = obj && typeof obj === 'object' ? detect(o) : null;
    if (!m) {
      throw new ShitateError('E_DATA', `${file}:${line}: expected {"messages": [...]}, {"prompt", "completion"} or {"text"}, found keys ${obj && typeof obj === 'object' ? Object.keys(o).join(', ') : typeof obj}`,
        'convert the file with `shitate data prepare` (it reads Alpaca, ShareGPT, CSV and more)');
    }
    const want = mode === 'auto' ? recs[0]?.mode ?? m : mode;
    if (m !== want) {
      throw new ShitateError('E_DATA', `${file}:${line}: a ${m} record in a ${want} file`, 'use one format per file');
    }
    recs.push(m === 'chat' ? { mode: m, messages: checkMessages(file, line, o.messages as unknown[]), line, file }
      : m === 'completion' ? { mode: m, prompt: o.prompt as string, completion: o.completion as string, line, file }
      : { mode: m, text: o.text as string, line, file });
  });
  if (recs.length === 0) throw new ShitateError('E_DATA', `${file}: expected at least one example, found none`, 'the file is empty');
  return recs;
}

/** One record's tokens and mask; a refusal names the file and line (and the system role when that is why). */
export function maskRecord(r: Record_, tok: Tokenizer, endIds: readonly number[], o: TokenizeOptions = {}): MaskedTokens {
  const eos = endIds[0] ?? tok.eosTokenId;
  const where = `${r.file ?? 'data'}:${r.line}`;
  let mt: MaskedTokens;
  try {
    mt = r.mode === 'chat' ? chatLossMask(tok, r.messages!, endIds, o.templateVars ? { templateVars: o.templateVars } : {})
      : r.mode === 'completion' ? completionLossMask(tok, r.prompt!, r.completion!, eos)
      : textLossMask(tok, r.text!, eos);
  } catch (e) {
    if (e instanceof ShitateError && r.mode === 'chat') throw explainRefusal(tok, r.messages!, e, where, o.templateVars);
    throw e;
  }
  if (o.embedSize !== undefined) checkIdsFit(tok, mt.ids, o.embedSize, where);
  return mt;
}

/** Tokenizes records with loss masks from the model's template; truncates to maxSeqLen tokens. */
export function tokenizeRecords(recs: Record_[], tok: Tokenizer, endIds: number[], maxSeqLen: number, o: TokenizeOptions = {}): TokenizedData {
  const out: TokenizedData = { examples: [], mode: recs[0].mode, truncated: 0, dropped: 0, appendedEos: 0, targetTokens: 0 };
  for (const r of recs) {
    const mt = maskRecord(r, tok, endIds, o);
    if (mt.appendedEos) out.appendedEos++;
    let ids = mt.ids;
    let mask = mt.mask;
    if (ids.length > maxSeqLen) {
      out.truncated++;
      ids = ids.slice(0, maxSeqLen);
      mask = mask.slice(0, maxSeqLen);
    }
    const targets = mask.slice(1).reduce((s, m) => s + m, 0);
    if (targets === 0) {
      out.dropped++;
      continue;
    }
    out.targetTokens += targets;
    out.examples.push({ ids: Int32Array.from(ids), mask: Uint8Array.from(mask), source: `${r.file ?? 'data'}:${r.line}` });
  }
  return out;
}
