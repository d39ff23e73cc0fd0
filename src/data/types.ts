// The one normalised form every importer produces (a conversation or a text, with where it came from),
// and the problems (issues) that importers and the validator report about it.
import type { MessageCode } from './messages.js';
import type { ZipLimits } from './zip-guard.js';

/** One chat turn after import: role is one of system/user/assistant/tool when valid. */
export interface Turn {
  role: string;
  content: string;
  /** an assistant turn's reasoning (reasoning_content; also read from "reasoning" and "thinking"), kept for
   *  the chat template, which decides how to render it */
  reasoning_content?: string;
}

/** Where something is in an input file: a 1-based row (CSV/XLSX, as Excel numbers it) or line. */
export interface Loc {
  file: string;
  unit: 'row' | 'line';
  n: number;
}

/** A normalised example. `kind: 'text'` is raw text for continued pre-training (messages empty). */
export interface DataRecord {
  kind: 'chat' | 'text';
  messages: Turn[];
  text: string;
  loc: Loc;
  category: string | null;
  /** 'val' when the file was given as validation data (`--val`), so leakage can be checked. */
  split: 'train' | 'val';
  /** preference data: `messages` is the prompt's first `promptTurns` turns then the chosen (or judged) answer */
  preference?: PreferenceInfo;
}

/** A pair (the rejected answer beside the chosen one in `messages`) or a judgment of the answer in `messages`. */
export interface PreferenceInfo {
  kind: 'pair' | 'label';
  promptTurns: number;
  rejected?: Turn[];
  label?: boolean;
}

export type Severity = 'error' | 'warning' | 'info';

export type ParamValue = string | number;

/** One problem at one place. `related` points at the other example of a pair (duplicate, conflict). */
export interface Issue {
  code: MessageCode;
  loc: Loc | null;
  params: Record<string, ParamValue>;
  related?: Loc;
  /** A short piece of the example, so a reader recognises it without opening the file. */
  excerpt?: string;
}

/** What an importer learned about a file (shown in the report so the user can confirm it). */
export interface SourceInfo {
  file: string;
  /** csv, tsv, xlsx, jsonl, json, text, markdown */
  type: string;
  /** openai, alpaca, sharegpt, completion, qa, text; table for CSV/XLSX */
  format: string | null;
  encoding: string | null;
  delimiter: string | null;
  header: string[] | null;
  sheet: string | null;
  records: number;
  split: 'train' | 'val';
}

/** What an importer yields: examples, and problems it met on the way (with their location). */
export type ImportItem = { kind: 'record'; record: DataRecord } | { kind: 'issue'; issue: Issue };

/** Options the importers share (all optional; detection fills the rest). */
export interface ImportOptions {
  /** Force a JSON format instead of detecting it. */
  format?: string;
  /** Force the text encoding of CSV/TSV/text (utf-8, shift_jis, cp932, euc-jp, utf-16le, ...). */
  encoding?: string;
  sheet?: string;
  questionCol?: string;
  answerCol?: string;
  categoryCol?: string;
  systemCol?: string;
  /** Whether the first CSV/XLSX row is a header; detected when undefined. */
  header?: boolean;
  /** Added as the first turn of every chat example that has no system turn. */
  system?: string;
  /** For plain text and Markdown: the target size of one chunk, in characters. */
  chunkChars?: number;
  /** XLSX: how far the archive may unpack (default: DEFAULT_ZIP_LIMITS with SHITATE_ZIP_MAX_* applied) */
  zipLimits?: ZipLimits;
}

/** The excerpt length kept with an issue. */
export const EXCERPT_CHARS = 60;

export function excerpt(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}…` : flat;
}

/** The user-side text of an example (what is asked), used for duplicate and conflict checks. */
export function questionOf(r: DataRecord): string {
  if (r.kind === 'text') return r.text;
  // system turns are left out: a prompt shared by every example would make them all look alike
  return r.messages.filter((m) => m.role === 'user').map((m) => m.content).join('\n');
}

/** The assistant-side text of an example (what the model learns to say). */
export function answerOf(r: DataRecord): string {
  if (r.kind === 'text') return '';
  return r.messages.filter((m) => m.role === 'assistant').map((m) => m.content).join('\n');
}
