// Typed reads of fields from a parsed JSON file, with errors that name the file, the field, what was
// expected and what was found. Used by the config.json and generation_config.json parsers.
import fs from 'node:fs';
import { ShitateError } from '../errors.js';
import { isRecord } from './safetensors-header.js';

export type Json = Record<string, unknown>;

/** Reads and parses a file holding one JSON object; `hint` says what to do when the file is missing. */
export function readJsonObject(file: string, hint: string): Json {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ShitateError('E_NOT_FOUND', `expected ${file}, found ${(err as NodeJS.ErrnoException).code ?? 'an unreadable file'}`, hint);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ShitateError('E_JSON', `${file}: expected valid JSON, found a parse error (${(err as Error).message})`,
      'the download may be incomplete or the file was edited by hand; re-download it or fix the JSON');
  }
  if (!isRecord(parsed)) {
    throw new ShitateError('E_JSON', `${file}: expected a JSON object, found ${Array.isArray(parsed) ? 'a list' : typeof parsed}`,
      'the download may be incomplete; re-download it');
  }
  return parsed;
}

/** Field reader bound to one file's object, so every error names the file. */
export class Fields {
  constructor(readonly file: string, readonly obj: Json) {}

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  private fail(key: string, expected: string): never {
    const v = this.obj[key];
    const found = v === undefined ? 'nothing (the field is missing)' : JSON.stringify(v);
    throw new ShitateError('E_CONFIG', `${this.file}: expected "${key}" to be ${expected}, found ${found}`,
      'the model folder may be for an architecture shitate does not support, or the file is damaged; compare it with the original on the Hub');
  }

  /** A positive integer; `fallback` applies when the field is absent or null (required when omitted). */
  posInt(key: string, fallback?: number): number {
    const v = this.obj[key];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) return this.fail(key, 'a positive integer');
    return v;
  }

  /** A non-negative integer or null. */
  optInt(key: string): number | null {
    const v = this.obj[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return this.fail(key, 'a non-negative integer or null');
    return v;
  }

  /** A finite number > 0. */
  posNum(key: string, fallback?: number): number {
    const v = this.obj[key];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return this.fail(key, 'a positive number');
    return v;
  }

  /** A finite number or null. */
  optNum(key: string): number | null {
    const v = this.obj[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.fail(key, 'a number or null');
    return v;
  }

  /** A finite number >= 0, or null. */
  optNonNegNum(key: string): number | null {
    const v = this.optNum(key);
    if (v !== null && v < 0) return this.fail(key, 'a number >= 0 or null');
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') return this.fail(key, 'true or false');
    return v;
  }

  optBool(key: string): boolean | null {
    const v = this.obj[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'boolean') return this.fail(key, 'true, false or null');
    return v;
  }

  optString(key: string): string | null {
    const v = this.obj[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') return this.fail(key, 'a string or null');
    return v;
  }

  /** HF token-id fields hold an int, a list of ints, or null; always returned as a list. */
  idList(key: string): number[] {
    const v = this.obj[key];
    if (v === undefined || v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    if (!list.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
      return this.fail(key, 'a token id or a list of token ids');
    }
    return list as number[];
  }
}
