// `kb add`: files (or folders of them) parsed, chunked and indexed one by one, each in its own transaction,
// each with a status: indexed, updated (only changed chunks touched), unchanged, or failed with the reason.
// A failure never stops the others and is recorded in the knowledge base, never dropped.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { createEmbedder, type Embedder } from '../providers/index.js';
import { chunkBlocks, DEFAULT_CHUNKING, type ChunkOptions } from './chunk.js';
import { extract, ExtractError, kindOf } from './extract/index.js';
import { loadMorph, normalize, type Morph } from './morph.js';
import { cleanControls } from '../data/sanitize.js';
import { zipLimitsFromEnv, type ZipLimits } from '../data/zip-guard.js';
import type { EmbedSettings, KnowledgeBase, PreparedChunk } from './store.js';
import { localEmbedder } from './local-embedder.js';

export const DEFAULT_MAX_BYTES = 20 * 1024 * 1024;

export type FileStatus = 'indexed' | 'updated' | 'unchanged' | 'failed';

export interface FileResult {
  /** the path as given (or found inside a given folder) */
  file: string;
  status: FileStatus;
  chunks: number;
  added: number;
  removed: number;
  kept: number;
  pages: number | null;
  error?: string;
  hint?: string;
}

export type IngestEvent =
  | { type: 'file-start'; index: number; total: number; file: string }
  | { type: 'file-done'; index: number; total: number; result: FileResult }
  | { type: 'embed'; done: number; total: number };

export interface IngestOptions {
  maxBytes?: number;
  /** how far a DOCX/XLSX archive may unpack (default: DEFAULT_ZIP_LIMITS with SHITATE_ZIP_MAX_* applied) */
  zipLimits?: ZipLimits;
  chunking?: ChunkOptions;
  embedder?: Embedder | null;
  cwd?: string;
  onEvent?: (ev: IngestEvent) => void;
}

export interface IngestReport {
  files: FileResult[];
  /** files inside given folders skipped for their extension */
  skipped: string[];
  embedded: number;
  /** set when embeddings could not be computed; the text indexes are complete regardless */
  embedError?: string;
}

class FileFailure extends Error {
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

/** Folders expand to the supported files inside them (hidden entries skipped); files stay as given. */
export function expandInputs(inputs: readonly string[], cwd: string): { files: string[]; skipped: string[] } {
  const files: string[] = [];
  const skipped: string[] = [];
  const visit = (p: string, top: boolean) => {
    const st = fs.statSync(path.resolve(cwd, p), { throwIfNoEntry: false });
    if (st?.isDirectory()) {
      for (const e of fs.readdirSync(path.resolve(cwd, p)).sort()) if (!e.startsWith('.')) visit(path.join(p, e), false);
    } else if (top || kindOf(p) !== null) files.push(p);
    else skipped.push(p);
  };
  for (const p of inputs) visit(p, true);
  return { files, skipped };
}

function displayName(abs: string, cwd: string): string {
  const rel = path.relative(cwd, abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : abs;
}

const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;

function readChecked(abs: string, maxBytes: number): { bytes: Buffer; size: number; mtimeMs: number } {
  const st = fs.statSync(abs, { throwIfNoEntry: false });
  if (!st) throw new FileFailure('expected a file, found nothing at this path', 'check the path (relative paths start from the current folder)');
  if (!st.isFile()) throw new FileFailure('expected a regular file, found something else', 'pass files or folders');
  if (st.size === 0) throw new FileFailure('the file is empty (0 bytes)', 'nothing to index; remove it or add content');
  if (st.size > maxBytes) {
    throw new FileFailure(`expected at most ${mb(maxBytes)}, found ${mb(st.size)}`,
      `split the document, or raise the limit with --max-mb ${Math.ceil(st.size / 1024 / 1024) + 1}`);
  }
  try {
    return { bytes: fs.readFileSync(abs), size: st.size, mtimeMs: Math.round(st.mtimeMs) };
  } catch (e) {
    throw new FileFailure(`expected a readable file, found ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      'check the file\'s permissions (or whether it is still being written)');
  }
}

export function chunkHash(section: string, text: string): string {
  return createHash('sha256').update(section).update('\0').update(text).digest('hex').slice(0, 32);
}

async function prepare(file: string, bytes: Buffer, o: Limits, morph: Morph): Promise<{ text: string; pages: number | null; chunks: PreparedChunk[] }> {
  let ex;
  try {
    ex = await extract(file, bytes, o.zipLimits);
  } catch (e) {
    if (e instanceof ExtractError) throw new FileFailure(e.message, e.hint);
    throw new FileFailure(`the parser failed: ${e instanceof Error ? e.message : String(e)}`, 'the file may be damaged; open and save it again');
  }
  // NUL bytes, stray control characters and broken UTF-16 go here, before any analyser sees them
  const blocks = ex.blocks.map((b) => ({ ...b, text: cleanControls(b.text) }));
  const { text, chunks } = chunkBlocks(blocks, o.chunking);
  if (chunks.length === 0) {
    throw new FileFailure('no text found in the file', kindOf(file) === 'pdf'
      ? 'a scanned PDF holds only images: run OCR on it first (e.g. ocrmypdf) and add the result' : 'add a file that contains text');
  }
  try {
    const prepared = chunks.map((c) => {
      const both = c.section ? `${c.section}\n${c.text}` : c.text;
      return { ...c, hash: chunkHash(c.section, c.text), norm: normalize(both), morph: morph.indexText(both), embedding: null };
    });
    return { text, pages: ex.pages ?? null, chunks: prepared };
  } catch (e) {
    // one file the analyser cannot handle is reported and skipped; the rest of the batch goes on
    throw new FileFailure(`the text could not be indexed: ${e instanceof Error ? e.message : String(e)}`,
      'this is a bug in shitate; please report it with this file. The other files were indexed');
  }
}

type Limits = Required<Pick<IngestOptions, 'maxBytes' | 'chunking' | 'zipLimits'>>;

async function ingestOne(kb: KnowledgeBase, file: string, cwd: string, o: Limits, morph: Morph): Promise<FileResult> {
  const abs = path.resolve(cwd, file);
  const base: FileResult = { file, status: 'failed', chunks: 0, added: 0, removed: 0, kept: 0, pages: null };
  const meta = { path: abs, name: displayName(abs, cwd), kind: kindOf(file) ?? 'unknown', size: 0, mtimeMs: 0 };
  try {
    const { bytes, size, mtimeMs } = readChecked(abs, o.maxBytes);
    Object.assign(meta, { size, mtimeMs });
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const prev = kb.document(abs);
    if (prev && prev.status === 'indexed' && prev.sha256 === sha256) return { ...base, status: 'unchanged', chunks: prev.chunks, kept: prev.chunks, pages: prev.pages };
    const doc = await prepare(file, bytes, o, morph);
    const counts = kb.replaceDocument({ ...meta, sha256, pages: doc.pages, text: doc.text, chunks: doc.chunks });
    return { ...base, ...counts, status: prev?.sha256 ? 'updated' : 'indexed', chunks: doc.chunks.length, pages: doc.pages };
  } catch (e) {
    if (!(e instanceof FileFailure)) throw e;
    kb.recordFailure(meta, e.message, e.hint);
    return { ...base, error: e.message, hint: e.hint };
  }
}

/** Embeds every chunk that has no embedding yet, in batches. */
export async function fillEmbeddings(kb: KnowledgeBase, embedder: Embedder, onEvent?: (ev: IngestEvent) => void): Promise<number> {
  const todo = kb.unembedded();
  const batch = 32;
  for (let i = 0; i < todo.length; i += batch) {
    const part = todo.slice(i, i + batch);
    const vecs = await embedder.embed(part.map((c) => (c.section ? `${c.section}\n${c.text}` : c.text)));
    kb.setEmbeddings(part.map((c, j) => ({ id: c.id, vec: unit(vecs[j]) })));
    onEvent?.({ type: 'embed', done: Math.min(i + batch, todo.length), total: todo.length });
  }
  return todo.length;
}

/** The embedder a knowledge base was set up with (its key read from the named environment variable). */
export function createEmbedderFromSettings(s: EmbedSettings, timeoutMs?: number): Embedder {
  if (s.local) {
    return localEmbedder(s.local, { ...(s.queryPrefix !== undefined ? { queryPrefix: s.queryPrefix } : {}), ...(s.passagePrefix !== undefined ? { passagePrefix: s.passagePrefix } : {}) });
  }
  return createEmbedder({ url: s.url, model: s.model, ...(s.keyEnv ? { keyEnv: s.keyEnv } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
}

/** v / |v|, so a dot product is the cosine similarity */
export function unit(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(s) || 1;
  return v.map((x) => x / n);
}

export async function ingest(kb: KnowledgeBase, inputs: readonly string[], opts: IngestOptions = {}): Promise<IngestReport> {
  const cwd = opts.cwd ?? process.cwd();
  const o: Limits = { maxBytes: opts.maxBytes ?? DEFAULT_MAX_BYTES, chunking: opts.chunking ?? DEFAULT_CHUNKING, zipLimits: opts.zipLimits ?? zipLimitsFromEnv() };
  const { files, skipped } = expandInputs(inputs, cwd);
  if (files.length === 0) {
    throw new ShitateError('E_USAGE', `kb add: expected files to index, found none${skipped.length ? ` (only ${skipped.length} unsupported files)` : ''}`,
      'pass .txt .md .html .pdf .docx .csv .tsv or .xlsx files, or folders containing them');
  }
  const morph = await loadMorph();
  const results: FileResult[] = [];
  for (const [i, file] of files.entries()) {
    opts.onEvent?.({ type: 'file-start', index: i + 1, total: files.length, file });
    const r = await ingestOne(kb, file, cwd, o, morph);
    results.push(r);
    opts.onEvent?.({ type: 'file-done', index: i + 1, total: files.length, result: r });
  }
  const report: IngestReport = { files: results, skipped, embedded: 0 };
  if (opts.embedder) {
    try {
      report.embedded = await fillEmbeddings(kb, opts.embedder, opts.onEvent);
    } catch (e) {
      if (!(e instanceof ShitateError)) throw e;
      report.embedError = e.format();
    }
  }
  return report;
}
