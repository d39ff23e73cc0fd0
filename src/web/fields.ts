// Request bodies of the studio API: one JSON object read with a size limit, and typed field readers whose
// errors name the field, what was expected and what came.
import { readJsonObject } from '../serve/body.js';
import { badField } from './errors.js';

export type Body = Record<string, unknown>;

export const MAX_JSON_BYTES = 4 * 1024 * 1024;

export function readBodyJson(req: Request): Promise<Body> {
  return readJsonObject(req, MAX_JSON_BYTES);
}

export function str(b: Body, key: string): string {
  const v = b[key];
  if (typeof v !== 'string' || v.trim() === '') throw badField(key, 'a non-empty string', v);
  return v;
}

export function optStr(b: Body, key: string): string | null {
  const v = b[key];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw badField(key, 'a string', v);
  return v;
}

export function optNum(b: Body, key: string, min: number, max: number, integer = false): number | null {
  const v = b[key];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw badField(key, `${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`, v);
  }
  return v;
}

export function optBool(b: Body, key: string, dflt: boolean): boolean {
  const v = b[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw badField(key, 'true or false', v);
  return v;
}

export function strList(b: Body, key: string): string[] {
  const v = b[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw badField(key, 'a list of strings', v);
  return v as string[];
}

export function obj(b: Body, key: string): Body {
  const v = b[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw badField(key, 'an object', v);
  return v as Body;
}
