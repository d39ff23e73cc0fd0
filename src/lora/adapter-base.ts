// Which base model an adapter belongs to. Saving writes base_model.json beside the PEFT files (PEFT and vLLM
// read only adapter_config.json and the weights, so an extra file is safe where an unknown config key would
// make PEFT warn): the base's name or path and a SHA-256 of its config.json in a canonical form. Loading onto
// a base whose config differs warns with the fields that differ: an adapter of the same shape loads on the
// wrong base without an error, and then answers wrongly.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';

export const BASE_FILE = 'base_model.json';

type Json = Record<string, unknown>;

export interface BaseIdentity {
  format: 'shitate-adapter-base';
  version: 1;
  /** as adapter_config.json records it: the folder trained on (or a Hub id) */
  base_model_name_or_path: string;
  /** the Hub id the base's config names (_name_or_path), else the folder name */
  name: string;
  /** sha256 of the canonical config (canonicalConfig) */
  config_sha256: string;
  /** the canonical config itself, to name the fields that differ */
  config: Json;
}

/** Keys that change when the same model is saved by another tool or version, not when the model changes. */
const VOLATILE = new Set(['_name_or_path', 'transformers_version', 'torch_dtype', 'dtype', 'use_cache', '_commit_hash',
  '_attn_implementation', '_attn_implementation_autoset', 'attn_implementation', 'output_attentions', 'output_hidden_states']);

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObj(v)) return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
}

/**
 * config.json as data that identifies the model: volatile keys and null values dropped, transformers 5's
 * rope_parameters folded back into rope_theta / rope_scaling (4.x form, "type" read as "rope_type"), keys sorted.
 */
export function canonicalConfig(obj: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) if (!VOLATILE.has(k) && v !== null) out[k] = v;
  const rp = isObj(out.rope_parameters) ? out.rope_parameters : isObj(out.rope_scaling) ? out.rope_scaling : null;
  delete out.rope_parameters;
  delete out.rope_scaling;
  if (rp) {
    const { rope_theta: theta, type, rope_type: ropeType, ...rest } = rp;
    if (typeof theta === 'number') out.rope_theta = theta;
    const kind = ropeType ?? type ?? 'default';
    if (kind !== 'default') out.rope_scaling = { rope_type: kind, ...rest };
  }
  return sortKeys(out) as Json;
}

export function configSha256(canonical: Json): string {
  return crypto.createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

function readConfig(dir: string): Json | null {
  try {
    const v: unknown = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    return isObj(v) ? v : null;
  } catch {
    return null; // no or unreadable config: nothing to compare (the model loader reports its own errors)
  }
}

/** The identity of a base model folder, or null when it has no readable config.json. */
export function baseIdentity(dir: string, nameOrPath: string = dir): BaseIdentity | null {
  const raw = readConfig(dir);
  if (!raw) return null;
  const config = canonicalConfig(raw);
  const hub = typeof raw._name_or_path === 'string' && /^[\w.-]+\/[\w.-]+$/.test(raw._name_or_path) ? raw._name_or_path : null;
  return { format: 'shitate-adapter-base', version: 1, base_model_name_or_path: nameOrPath, name: hub ?? path.basename(path.resolve(dir)),
    config_sha256: configSha256(config), config };
}

/** Writes base_model.json into an adapter folder (nothing when the base folder has no config.json). */
export function writeBaseIdentity(adapterDir: string, baseDir: string, nameOrPath: string): void {
  const id = baseIdentity(baseDir, nameOrPath);
  if (id) writeFileAtomic(path.join(adapterDir, BASE_FILE), JSON.stringify(id, null, 2) + '\n');
}

/** The recorded identity: base_model.json, else the local folder adapter_config.json names, if it still exists. */
function recordedIdentity(adapterDir: string, peftBase: string | null): BaseIdentity | null {
  try {
    const v: unknown = JSON.parse(fs.readFileSync(path.join(adapterDir, BASE_FILE), 'utf8'));
    if (isObj(v) && typeof v.config_sha256 === 'string' && isObj(v.config)) return v as unknown as BaseIdentity;
  } catch {
    // no sidecar (an adapter from PEFT, or from an older shitate): fall back to the folder it names
  }
  return peftBase && fs.existsSync(path.join(peftBase, 'config.json')) ? baseIdentity(peftBase) : null;
}

/** "rope_theta 10000 -> 500000; eos_token_id 2 -> [2, 3]": up to five fields that differ. */
export function configDifferences(a: Json, b: Json): string {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));
  const diffs = keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${k} ${show(a[k])} -> ${show(b[k])}`);
  return diffs.length > 5 ? `${diffs.slice(0, 5).join('; ')}; and ${diffs.length - 5} more` : diffs.join('; ');
}

/** Warnings (none or one) about loading the adapter in `adapterDir` onto the base in `baseDir`. */
export function checkAdapterBase(adapterDir: string, baseDir: string, peftBase: string | null): string[] {
  const rec = recordedIdentity(adapterDir, peftBase);
  const now = baseIdentity(baseDir);
  if (!rec || !now || rec.config_sha256 === now.config_sha256) return [];
  return [`adapter ${adapterDir} was trained on ${rec.base_model_name_or_path} (config.json sha256 ${rec.config_sha256.slice(0, 12)}…), ` +
    `but the base ${baseDir} has a different config.json (sha256 ${now.config_sha256.slice(0, 12)}…): ${configDifferences(rec.config, now.config)}. ` +
    `It loads because the shapes fit, but its answers can be wrong: pass the base it was trained on (--model ${rec.base_model_name_or_path}).`];
}
