// The Data page's operations on uploaded files, through data/ exactly as `shitate data check|prepare` runs
// them: the column mapping with a preview of the first examples, the validation report, the examples at a
// reported row, and prepare (dedup, PII redaction, leaving broken rows out) into a dataset with its split.
import fs from 'node:fs';
import path from 'node:path';
import { checkFiles, prepare, tokenCounter, type CheckOutcome, type DataReport, type ImportOptions } from '../data/index.js';
import { mapColumns, type ColumnMap } from '../data/table.js';
import type { Lang } from '../catalog/types.js';
import type { StudioContext } from './context.js';
import { badField, StudioError } from './errors.js';
import { obj, optBool, optNum, optStr, strList, type Body } from './fields.js';
import { checkModelDir } from './models.js';
import { getUpload, type Upload } from './uploads.js';
import { readJson, writeJson } from './workspace.js';

export interface PreviewRow {
  file: string;
  unit: 'row' | 'line';
  n: number;
  kind: 'chat' | 'text';
  system: string;
  question: string;
  answer: string;
  text: string;
  category: string | null;
}

export interface Dataset {
  id: string;
  name: string;
  createdAt: string;
  uploads: { id: string; name: string }[];
  model: string | null;
  options: Record<string, unknown>;
  split: DataReport['split'] | null;
  /** example lengths (tokens when a model was given, else characters) */
  lengths: DataReport['lengths'] | null;
  train: string;
  val: string | null;
}

interface Checked {
  uploads: Upload[];
  outcome: CheckOutcome;
  model: string | null;
}

function importOptions(m: Body): ImportOptions {
  const header = m.header;
  if (header !== undefined && header !== null && typeof header !== 'boolean') throw badField('mapping.header', 'true, false or null (detect)', header);
  const col = (k: string) => optStr(m, k) ?? undefined;
  return {
    questionCol: col('question_col'), answerCol: col('answer_col'), categoryCol: col('category_col'), systemCol: col('system_col'),
    encoding: col('encoding'), sheet: col('sheet'), system: col('system'), format: col('format'),
    header: typeof header === 'boolean' ? header : undefined,
  };
}

async function runCheck(ctx: StudioContext, b: Body, lang: Lang): Promise<Checked> {
  const ids = strList(b, 'uploads');
  if (ids.length === 0) throw badField('uploads', 'at least one uploaded file', b.uploads, 'drop a CSV, TSV, XLSX or JSONL file first');
  const uploads = ids.map((id) => getUpload(ctx, id));
  const modelArg = optStr(b, 'model');
  const model = modelArg ? checkModelDir(modelArg) : null;
  const counter = model ? tokenCounter(model) : null;
  const outcome = await checkFiles(uploads.map((u) => u.path), [], {
    import: importOptions(obj(b, 'mapping')), lang, model,
    validate: { countTokens: counter?.countTokens ?? null, maxTokens: counter?.context ?? null },
    templateIssues: counter?.templateIssues ?? null,
  });
  return { uploads, outcome, model };
}

/** The first `n` examples as the mapping reads them. */
function preview(outcome: CheckOutcome, n: number): PreviewRow[] {
  const rows: PreviewRow[] = [];
  for (const s of outcome.sources) {
    for (const item of s.items()) {
      if (rows.length >= n) return rows;
      if (item.kind !== 'record') continue;
      const r = item.record;
      const turns = (role: string) => r.messages.filter((m) => m.role === role).map((m) => m.content).join('\n');
      rows.push({ file: r.loc.file, unit: r.loc.unit, n: r.loc.n, kind: r.kind, system: turns('system'), question: turns('user'),
        answer: turns('assistant'), text: r.text, category: r.category });
    }
  }
  return rows;
}

/** Which column each role was read from, for the mapping selects (tables only). */
function columnsOf(outcome: CheckOutcome, opts: ImportOptions): { file: string; header: string[] | null; map: ColumnMap | null }[] {
  return outcome.sources.map((s) => {
    const header = s.info.header;
    if (!header) return { file: s.info.file, header: null, map: null };
    const m = mapColumns(header, { ...opts, header: true }, { file: s.info.file, unit: 'row', n: 1 });
    return { file: s.info.file, header, map: 'map' in m ? m.map : null };
  });
}

export async function checkData(ctx: StudioContext, b: Body, lang: Lang): Promise<Record<string, unknown>> {
  const c = await runCheck(ctx, b, lang);
  return {
    report: c.outcome.report, preview: preview(c.outcome, 5), columns: columnsOf(c.outcome, importOptions(obj(b, 'mapping'))),
    uploads: c.uploads.map((u) => ({ id: u.id, name: u.name, path: u.path })),
  };
}

/** Examples and problems at one row or line of an uploaded file (a report's row link). */
export async function rowDetail(ctx: StudioContext, b: Body, lang: Lang): Promise<Record<string, unknown>> {
  const n = optNum(b, 'n', 1, Number.MAX_SAFE_INTEGER, true);
  const uploadId = optStr(b, 'upload');
  if (n === null || !uploadId) throw badField('n', 'a row number and an upload id', b.n);
  const c = await runCheck(ctx, { ...b, uploads: [uploadId] }, lang);
  const rows = preview(c.outcome, Number.MAX_SAFE_INTEGER).filter((r) => Math.abs(r.n - n) <= 1);
  const problems = c.outcome.report.problems.flatMap((p) => p.occurrences.filter((o) => o.n === n).map((o) => ({ code: p.code, severity: p.severity, title: p.title, message: o.message })));
  return { n, rows, problems };
}

export async function prepareDataset(ctx: StudioContext, b: Body, lang: Lang): Promise<Record<string, unknown>> {
  const c = await runCheck(ctx, b, lang);
  const options = {
    dedup: optBool(b, 'dedup', false), redactPii: optBool(b, 'redact_pii', false), skipInvalid: optBool(b, 'skip_invalid', false),
    valRatio: optNum(b, 'val_ratio', 0, 0.5) ?? 0.1, seed: optNum(b, 'seed', 0, 0xffffffff, true) ?? 42,
  };
  const { id, dir } = ctx.ws.create('data', 'data');
  let res;
  try {
    res = prepare(c.outcome, { outDir: dir, ...options });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  if (!res.written) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { written: false, report: res.report, dataset: null };
  }
  const val = path.join(dir, 'val.jsonl');
  const ds: Dataset = {
    id, name: optStr(b, 'name') ?? c.uploads.map((u) => u.name).join(' + '), createdAt: new Date().toISOString(),
    uploads: c.uploads.map((u) => ({ id: u.id, name: u.name })), model: c.model, options: { ...options, mapping: obj(b, 'mapping') },
    split: res.report.split ?? null, lengths: res.report.lengths, train: path.join(dir, 'train.jsonl'), val: fs.existsSync(val) ? val : null,
  };
  writeJson(path.join(dir, 'dataset.json'), ds);
  return { written: true, report: res.report, dataset: ds };
}

export function getDataset(ctx: StudioContext, id: string): Dataset {
  const dir = ctx.ws.item('data', id, 'dataset');
  const ds = readJson<Dataset>(path.join(dir, 'dataset.json'));
  if (!ds) throw new StudioError(404, 'not_found', `dataset "${id}" is incomplete`, 'prepare the data again');
  return ds;
}

export function datasetFiles(ctx: StudioContext, id: string): { train: string; val: string | null } {
  const ds = getDataset(ctx, id);
  return { train: ds.train, val: ds.val };
}

export function listDatasets(ctx: StudioContext): Dataset[] {
  return ctx.ws.list('data').flatMap((id) => {
    const ds = readJson<Dataset>(path.join(ctx.ws.kindDir('data'), id, 'dataset.json'));
    return ds ? [ds] : [];
  });
}

export function deleteDataset(ctx: StudioContext, id: string): void {
  fs.rmSync(ctx.ws.item('data', id, 'dataset'), { recursive: true, force: true });
}
