// Layered configuration: typed defaults < YAML/JSON file < SHITATE_* environment < CLI flags. Each key is
// camelCase inside, snake_case in files (learning_rate), SHITATE_LEARNING_RATE in the environment and
// --learning-rate on the command line. The resolved values and where each came from are saved with outputs.
import fs from 'node:fs';
import YAML from 'yaml';
import { ShitateError } from '../errors.js';

/** 'json': a mapping (YAML/JSON in the file, JSON text in env and flags), kept as canonical JSON text. */
export type FieldType = 'number' | 'int' | 'string' | 'boolean' | 'list' | 'json';

export interface FieldSpec {
  type: FieldType;
  help: string;
  /** allowed values for strings */
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** for optional fields whose default is null */
  nullable?: boolean;
}

export type Schema = Record<string, FieldSpec>;
export type Source = 'default' | 'file' | 'env' | 'flag';
export type Value = number | string | boolean | string[] | null;

export const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
export const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const envName = (k: string): string => `SHITATE_${snake(k).toUpperCase()}`;

/** Converts and checks one value; `where` names the layer for the error (file path, env var, flag). */
export function coerce(key: string, spec: FieldSpec, raw: unknown, where: string): Value {
  const fail = (expected: string): never => {
    throw new ShitateError('E_CONFIG', `${where}: ${snake(key)} must be ${expected}, found ${JSON.stringify(raw)}`,
      `${spec.help}${spec.choices ? ` (one of: ${spec.choices.join(', ')})` : ''}`);
  };
  if (raw === null || raw === 'null' || raw === '') {
    if (spec.nullable) return null;
    fail(`a ${spec.type}`);
  }
  let v: Value;
  switch (spec.type) {
    case 'number':
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : NaN;
      if (!Number.isFinite(n) || (spec.type === 'int' && !Number.isInteger(n))) fail(spec.type === 'int' ? 'an integer' : 'a number');
      if (spec.min !== undefined && n < spec.min) fail(`>= ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) fail(`<= ${spec.max}`);
      v = n;
      break;
    }
    case 'boolean':
      if (typeof raw === 'boolean') v = raw;
      else if (raw === 'true' || raw === '1' || raw === 'yes') v = true;
      else if (raw === 'false' || raw === '0' || raw === 'no') v = false;
      else fail('true or false');
      break;
    case 'json':
      v = jsonObjectText(raw, fail);
      break;
    case 'list':
      if (Array.isArray(raw)) v = raw.map(String);
      else if (typeof raw === 'string') v = raw.split(',').map((s) => s.trim()).filter(Boolean);
      else fail('a list (or a comma-separated string)');
      break;
    default:
      if (typeof raw !== 'string' && typeof raw !== 'number') fail('a string');
      v = String(raw);
      if (spec.choices && !spec.choices.includes(v)) fail(`one of ${spec.choices.join(', ')}`);
  }
  return v!;
}

function jsonObjectText(raw: unknown, fail: (expected: string) => never): string {
  let obj = raw;
  if (typeof raw === 'string') {
    try {
      obj = JSON.parse(raw);
    } catch {
      fail('a JSON object, e.g. {"enable_thinking": false}');
    }
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) fail('a mapping of names to values (a JSON object)');
  return JSON.stringify(obj);
}

export interface Layers {
  /** path of a YAML or JSON file, or null */
  file?: string | null;
  env?: NodeJS.ProcessEnv;
  /** flag values by camelCase key (already parsed strings/booleans) */
  flags?: Record<string, unknown>;
}

export interface Resolved<T> {
  values: T;
  sources: Record<keyof T & string, Source>;
}

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ShitateError('E_NOT_FOUND', `config file ${file}: expected a readable YAML file, found ${(e as NodeJS.ErrnoException).code}`,
      'check the path given to --config');
  }
  let obj: unknown;
  try {
    obj = YAML.parse(text);
  } catch (e) {
    throw new ShitateError('E_CONFIG', `config file ${file}: expected valid YAML, found ${(e as Error).message.split('\n')[0]}`,
      'fix the YAML syntax (indentation, colons after keys)');
  }
  if (obj === null || obj === undefined) return {};
  if (typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ShitateError('E_CONFIG', `config file ${file}: expected a mapping of settings, found ${Array.isArray(obj) ? 'a list' : typeof obj}`,
      'write one `key: value` per line, e.g. `learning_rate: 2e-4`');
  }
  return obj as Record<string, unknown>;
}

/** Resolves every key of the schema through the four layers. Unknown file keys are errors (typos). */
export function resolveConfig<T extends Record<string, Value>>(schema: Schema, defaults: T, layers: Layers): Resolved<T> {
  const values = { ...defaults } as Record<string, Value>;
  const sources = Object.fromEntries(Object.keys(defaults).map((k) => [k, 'default'])) as Record<string, Source>;
  const fileObj = layers.file ? readConfigFile(layers.file) : {};
  const bySnake = new Map(Object.keys(schema).map((k) => [snake(k), k]));
  for (const [fk, raw] of Object.entries(fileObj)) {
    const key = bySnake.get(fk) ?? (schema[fk] ? fk : undefined);
    if (!key) {
      throw new ShitateError('E_CONFIG', `config file ${layers.file}: unknown setting "${fk}"`,
        `known settings: ${[...bySnake.keys()].join(', ')}`);
    }
    values[key] = coerce(key, schema[key], raw, `config file ${layers.file}`);
    sources[key] = 'file';
  }
  const env = layers.env ?? {};
  for (const key of Object.keys(schema)) {
    const raw = env[envName(key)];
    if (raw !== undefined) {
      values[key] = coerce(key, schema[key], raw, `environment ${envName(key)}`);
      sources[key] = 'env';
    }
  }
  for (const [key, raw] of Object.entries(layers.flags ?? {})) {
    if (raw === undefined || !schema[key]) continue;
    values[key] = coerce(key, schema[key], raw, `flag --${kebab(key)}`);
    sources[key] = 'flag';
  }
  return { values: values as T, sources: sources as Record<keyof T & string, Source> };
}

/** Flag specs (for parseFlags) for every schema key: all take a string value except booleans. */
export function schemaFlags(schema: Schema): Record<string, { type: 'string' | 'boolean' }> {
  return Object.fromEntries(Object.entries(schema).map(([k, s]) => [kebab(k), { type: s.type === 'boolean' ? 'boolean' : 'string' }]));
}

/** Maps parsed kebab-case flag values back to camelCase schema keys. */
export function flagsToKeys(schema: Schema, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(schema)) if (values[kebab(k)] !== undefined) out[k] = values[kebab(k)];
  return out;
}
