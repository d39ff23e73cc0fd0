// One input file (or bytes) to a stream of normalised examples and import problems: picks the reader
// by content and extension (CSV/TSV, XLSX, JSONL, JSON, text, Markdown) and reads in 1 MiB chunks.
import fs from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { canonicalEncoding, decodeChunks, detectEncoding, ENCODING_NAMES, sniff } from './decode.js';
import { detectDelimiter, parseCsv, type CsvEnd } from './csv.js';
import { guardQuoteMerge } from './quote-merge.js';
import { jsonToRecord, type JsonFormat } from './formats.js';
import { readJsonArray, readJsonl, type JsonItem } from './json.js';
import { mapColumns, rowToItems } from './table.js';
import { chunkText } from './text.js';
import { readSheet } from './xlsx.js';
import { checkZip, describeRefusal, zipLimitsFromEnv } from './zip-guard.js';
import type { ImportItem, ImportOptions, Issue, SourceInfo } from './types.js';

export const CHUNK_BYTES = 1 << 20;

/** Bytes that can be read more than once, chunk by chunk (a file, or bytes in memory). */
export interface ByteInput {
  name: string;
  head: Uint8Array;
  size: number;
  chunks(): Iterable<Uint8Array>;
  all(): Uint8Array;
}

export function fileInput(file: string): ByteInput {
  const size = fs.statSync(file).size;
  function* chunks(): Generator<Uint8Array> {
    const fd = fs.openSync(file, 'r'); // read-only: input files are never modified
    try {
      for (;;) {
        const buf = Buffer.allocUnsafe(CHUNK_BYTES);
        const n = fs.readSync(fd, buf, 0, CHUNK_BYTES, null);
        if (n === 0) return;
        yield buf.subarray(0, n);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  const fd = fs.openSync(file, 'r');
  let head: Uint8Array;
  try {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size));
    head = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0));
  } finally {
    fs.closeSync(fd);
  }
  return { name: file, head, size, chunks, all: () => fs.readFileSync(file) };
}

export function bytesInput(name: string, bytes: Uint8Array): ByteInput {
  function* chunks(): Generator<Uint8Array> {
    for (let i = 0; i < bytes.length; i += CHUNK_BYTES) yield bytes.subarray(i, i + CHUNK_BYTES);
  }
  return { name, head: bytes.subarray(0, CHUNK_BYTES), size: bytes.length, chunks, all: () => bytes };
}

export interface Source {
  info: SourceInfo;
  /** Every example and problem, in file order; can be called again (prepare reads twice). */
  items(): Generator<ImportItem>;
}

type TextType = 'csv' | 'tsv' | 'jsonl' | 'json' | 'text' | 'markdown';

const BY_EXT: Record<string, TextType | 'xlsx'> = {
  '.csv': 'csv', '.tsv': 'tsv', '.tab': 'tsv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'json',
  '.txt': 'text', '.text': 'text', '.md': 'markdown', '.markdown': 'markdown', '.xlsx': 'xlsx', '.xlsm': 'xlsx',
};

/** Type of a text file from its first characters, when the extension does not say. */
function typeFromText(head: string, ext: string): TextType {
  const s = head.replace(/^\uFEFF/, '').trimStart();
  const nl = s.indexOf('\n');
  const firstLine = nl >= 0 ? s.slice(0, nl) : s;
  if (s.startsWith('[')) return 'json';
  if (s.startsWith('{')) {
    // JSONL when the first line is a whole value and more follows; else one document (maybe a wrapper)
    try {
      JSON.parse(firstLine);
      return nl >= 0 && s.slice(nl).trim() !== '' ? 'jsonl' : 'json';
    } catch {
      return 'json';
    }
  }
  // Excel's "Unicode text" export is a tab-separated .txt: tabs on the first line mean a table
  if (ext === '.txt' || ext === '.text') return firstLine.includes('\t') ? 'tsv' : 'text';
  return /[,\t]/.test(firstLine) ? 'csv' : 'text';
}

function fatal(info: SourceInfo, issue: Issue): Source {
  return { info, items: function* () { yield { kind: 'issue', issue }; } };
}

export async function openSource(input: ByteInput, opts: ImportOptions, split: 'train' | 'val'): Promise<Source> {
  const file = input.name;
  const ext = path.extname(file).toLowerCase();
  const info: SourceInfo = { file, type: BY_EXT[ext] ?? 'text', format: null, encoding: null, delimiter: null, header: null, sheet: null, records: 0, split };
  const loc = { file, unit: 'line' as const, n: 1 };
  let forced: string | null = null;
  if (opts.encoding) {
    forced = canonicalEncoding(opts.encoding);
    if (!forced && BY_EXT[ext] !== 'xlsx') return fatal(info, { code: 'bad_encoding', loc, params: { encoding: opts.encoding } });
  }
  const sn = sniff(input.head, forced);
  if (sn.kind === 'binary') return fatal(info, { code: 'binary_file', loc, params: { kind_en: sn.what.en, kind_ja: sn.what.ja } });
  if (sn.kind === 'zip' || BY_EXT[ext] === 'xlsx') {
    info.type = 'xlsx';
    if (sn.kind !== 'zip') return fatal(info, { code: 'xlsx_unreadable', loc: { ...loc, unit: 'row' }, params: { reason: 'not a zip-based .xlsx file' } });
    return xlsxSource(input, opts, info);
  }
  const enc = forced ?? detectEncoding(input.head, input.head.length >= input.size).encoding;
  const headText = iconv.decode(Buffer.from(input.head.subarray(0, 4096)), enc === 'utf-8-bom' ? 'utf-8' : enc);
  // .txt may be a table export, and a .json file is often JSONL in fact: look at the content for those
  const byExt = BY_EXT[ext] as TextType | undefined;
  const type: TextType = byExt === undefined || byExt === 'text' || byExt === 'json' ? typeFromText(headText, ext) : byExt;
  info.type = type;
  return textSource(input, opts, info, type, forced);
}

function textSource(input: ByteInput, opts: ImportOptions, info: SourceInfo, type: TextType, forced: string | null): Source {
  function* items(): Generator<ImportItem> {
    const pending: Issue[] = [];
    const complete = input.head.length >= input.size;
    const dec = decodeChunks(input.chunks(), input.head, complete, info.file, forced, pending);
    info.encoding = ENCODING_NAMES[dec.encoding] ?? dec.encoding;
    info.records = 0;
    const inner = type === 'csv' || type === 'tsv' ? tableItems(dec.chunks, opts, info, type)
      : type === 'jsonl' || type === 'json' ? jsonItems(type === 'jsonl' ? readJsonl(dec.chunks) : readJsonArray(dec.chunks), opts, info)
      : textItems(dec.chunks, info, type === 'markdown', opts);
    for (const item of inner) {
      while (pending.length) yield { kind: 'issue', issue: pending.shift()! };
      if (item.kind === 'record') info.records++;
      yield item;
    }
    while (pending.length) yield { kind: 'issue', issue: pending.shift()! };
  }
  return { info, items };
}

/** The first element of a generator, and a generator that yields it again followed by the rest. */
function peek<T>(gen: Iterator<T>): { first: T | undefined; all: Generator<T> } {
  const r = gen.next();
  function* all(): Generator<T> {
    if (r.done) return;
    yield r.value;
    for (let n = gen.next(); !n.done; n = gen.next()) yield n.value;
  }
  return { first: r.done ? undefined : r.value, all: all() };
}

function* tableItems(chunks: Generator<string>, opts: ImportOptions, info: SourceInfo, type: 'csv' | 'tsv'): Generator<ImportItem> {
  const text = peek(chunks);
  const delim = detectDelimiter(text.first ?? '', type === 'tsv' ? '\t' : ',');
  info.delimiter = delim === '\t' ? 'tab' : delim;
  const end: CsvEnd = { openQuoteRow: null };
  const rows = peek(parseCsv(text.all, delim, end));
  if (!rows.first) return;
  const mapping = mapColumns(rows.first.cells, opts, { file: info.file, unit: 'row', n: rows.first.row });
  if ('code' in mapping) { yield { kind: 'issue', issue: mapping }; return; }
  info.header = mapping.header;
  info.format = 'table';
  const body = (function* () {
    for (const r of rows.all) if (!(mapping.header && r === rows.first)) yield r;
  })();
  for (const g of guardQuoteMerge(body, delim, (mapping.header ?? rows.first.cells).length, info.file)) {
    if (g.kind === 'issue') yield g;
    else yield* rowToItems(g.row.cells, { file: info.file, unit: 'row', n: g.row.row }, mapping, opts, info.split);
  }
  if (end.openQuoteRow !== null) {
    yield { kind: 'issue', issue: { code: 'truncated', loc: { file: info.file, unit: 'row', n: end.openQuoteRow },
      params: { what_en: 'a quoted cell that starts on this row', what_ja: 'この行から始まる引用符つきのセル' } } };
  }
}

function* jsonItems(values: Generator<JsonItem>, opts: ImportOptions, info: SourceInfo): Generator<ImportItem> {
  let fileFormat: JsonFormat | null = (opts.format as JsonFormat | undefined) ?? null;
  for (const v of values) {
    const loc = { file: info.file, unit: 'line' as const, n: v.line };
    if (!v.ok) {
      yield { kind: 'issue', issue: v.truncated
        ? { code: 'truncated', loc, params: { what_en: 'a JSON value that starts on this line', what_ja: 'この行から始まる JSON の値' } }
        : { code: 'bad_json', loc, params: { reason: v.reason.slice(0, 160) } } };
      continue;
    }
    const r = jsonToRecord(v.value, fileFormat, loc, opts, info.split);
    if ('issue' in r) { yield { kind: 'issue', issue: r.issue }; continue; }
    fileFormat ??= r.format;
    info.format = fileFormat;
    yield { kind: 'record', record: r.record };
  }
}

function* textItems(chunks: Generator<string>, info: SourceInfo, markdown: boolean, opts: ImportOptions): Generator<ImportItem> {
  info.format = 'text';
  for (const c of chunkText(chunks, markdown, opts.chunkChars)) {
    yield { kind: 'record', record: { kind: 'text', messages: [], text: c.text, loc: { file: info.file, unit: 'line', n: c.line }, category: null, split: info.split } };
  }
}

async function xlsxSource(input: ByteInput, opts: ImportOptions, info: SourceInfo): Promise<Source> {
  const bytes = input.all();
  const refused = await checkZip(bytes, opts.zipLimits ?? zipLimitsFromEnv());
  if (refused) {
    const d = describeRefusal(refused);
    return fatal(info, { code: 'archive_too_large', loc: { file: info.file, unit: 'row', n: 1 }, params: { what_en: d.en, what_ja: d.ja } });
  }
  const sheet = await readSheet(bytes, info.file, opts.sheet);
  if ('code' in sheet) return fatal(info, sheet);
  info.sheet = sheet.sheet;
  info.format = 'table';
  const first = sheet.rows[0];
  if (!first) return { info, items: function* () { /* an empty sheet: no examples */ } };
  const mapping = mapColumns(first.cells, opts, { file: info.file, unit: 'row', n: first.row });
  if ('code' in mapping) return fatal(info, mapping);
  info.header = mapping.header;
  const rows = sheet.rows;
  const m = mapping;
  function* items(): Generator<ImportItem> {
    info.records = 0;
    for (const r of rows) {
      if (m.header && r === first) continue;
      for (const item of rowToItems(r.cells, { file: info.file, unit: 'row', n: r.row }, m, opts, info.split)) {
        if (item.kind === 'record') info.records++;
        yield item;
      }
    }
  }
  return { info, items };
}
