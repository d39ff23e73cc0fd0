// `data check` without the command line: opens the inputs, runs every example through the validator
// and builds the report. Also the in-memory form (bytes in, report out) used by tests and fuzzing.
import fs from 'node:fs';
import { ShitateError } from '../errors.js';
import type { Lang } from './messages.js';
import { buildReport, type DataReport } from './report.js';
import { bytesInput, fileInput, openSource, type Source } from './source.js';
import type { DataRecord, ImportOptions, Issue } from './types.js';
import { Validator, type ValidateOptions, type ValidationResult } from './validator.js';

export interface CheckOptions {
  import?: ImportOptions;
  validate?: ValidateOptions;
  lang?: Lang;
  model?: string | null;
  onProgress?: (examples: number, file: string) => void;
  /** what the model's chat template would refuse in an example (tokens.ts), checked before the validator */
  templateIssues?: ((r: DataRecord) => Issue[]) | null;
}

export interface CheckOutcome {
  report: DataReport;
  result: ValidationResult;
  validator: Validator;
  sources: Source[];
}

function checkReadable(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new ShitateError('E_NOT_FOUND', `expected a data file at ${file}, found ${(e as NodeJS.ErrnoException).code ?? 'nothing'}`,
      'check the path; quote it if it contains spaces');
  }
  if (!st.isFile()) {
    throw new ShitateError('E_NOT_FOUND', `expected a data file at ${file}, found a ${st.isDirectory() ? 'folder' : 'special file'}`,
      'pass the files themselves (e.g. data/*.csv), not a folder');
  }
}

/** Opens every input (training files first, then validation files), failing early on missing paths. */
export async function openFiles(files: string[], valFiles: string[], opts: ImportOptions): Promise<Source[]> {
  for (const f of [...files, ...valFiles]) checkReadable(f);
  const sources: Source[] = [];
  for (const f of files) sources.push(await openSource(fileInput(f), opts, 'train'));
  for (const f of valFiles) sources.push(await openSource(fileInput(f), opts, 'val'));
  return sources;
}

/** How often (in examples) progress is reported on big inputs. */
export const PROGRESS_EVERY = 100_000;

/** Streams every source through one validator; `onProgress` hears the example count now and then. */
export function runValidation(sources: Source[], opts: ValidateOptions, onProgress?: (examples: number, file: string) => void,
  templateIssues?: ((r: DataRecord) => Issue[]) | null): { result: ValidationResult; validator: Validator } {
  const validator = new Validator(opts);
  for (const s of sources) {
    for (const item of s.items()) {
      if (templateIssues && item.kind === 'record') for (const issue of templateIssues(item.record)) validator.report(issue);
      validator.add(item);
      if (onProgress && item.kind === 'record' && validator.count % PROGRESS_EVERY === 0) onProgress(validator.count, s.info.file);
    }
  }
  return { result: validator.finish(), validator };
}

export function outcome(sources: Source[], o: CheckOptions): CheckOutcome {
  const { result, validator } = runValidation(sources, o.validate ?? {}, o.onProgress, o.templateIssues);
  const report = buildReport({ result, files: sources.map((s) => s.info), lang: o.lang ?? 'en', model: o.model ?? null, maxTokens: o.validate?.maxTokens ?? null,
    piiAllow: o.validate?.piiAllow?.entries ?? [] });
  return { report, result, validator, sources };
}

export async function checkFiles(files: string[], valFiles: string[], o: CheckOptions = {}): Promise<CheckOutcome> {
  return outcome(await openFiles(files, valFiles, o.import ?? {}), o);
}

/** The whole check on bytes in memory (`name` picks the reader by its extension). Never throws on content. */
export async function checkBytes(name: string, bytes: Uint8Array, o: CheckOptions = {}): Promise<CheckOutcome> {
  return outcome([await openSource(bytesInput(name, bytes), o.import ?? {}, 'train')], o);
}
