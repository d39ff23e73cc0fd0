// A knowledge base's own search settings, in kb/NAME.yaml beside kb/NAME.sqlite: the company's related-term
// groups (added to the shipped everyday support vocabulary, or replacing it), and optionally a chat model
// that rewrites questions into the knowledge base's wording before search. Read strictly; a missing file
// means the defaults.
import fs from 'node:fs';
import YAML from 'yaml';
import { ShitateError } from '../errors.js';
import { PROVIDER_KINDS, type ProviderConfig, type ProviderKind } from '../providers/index.js';
import { DEFAULT_SYNONYMS } from './synonym-defaults.js';

export interface KbSettings {
  /** where the settings live (whether or not the file exists) */
  file: string;
  /** use the shipped groups of everyday support vocabulary */
  defaultSynonyms: boolean;
  /** the company's own groups */
  synonyms: string[][];
  /** the chat model that rewrites questions before search; null: no rewriting */
  rewrite: ProviderConfig | null;
}

/** kb/NAME.yaml for kb/NAME.sqlite */
export const settingsFile = (kbFile: string): string => kbFile.replace(/\.sqlite$/, '') + '.yaml';

const KEYS = ['default_synonyms', 'synonyms', 'rewrite'];
const REWRITE_KEYS = ['kind', 'model', 'url', 'key_env', 'adapter', 'timeout_ms'];

function fail(file: string, key: string, expected: string, found: unknown): never {
  const shown = found === undefined ? 'nothing' : JSON.stringify(found)?.slice(0, 80);
  throw new ShitateError('E_KB_SETTINGS', `${file}: ${key}: expected ${expected}, found ${shown}`,
    'fix the file (groups are lists of words, e.g. "- [送料, 郵送代, 配送料]"), or remove it to use the defaults');
}

function readGroups(file: string, raw: unknown): string[][] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) fail(file, 'synonyms', 'a list of groups', raw);
  return raw.map((g: unknown, i) => {
    // a group is a list of words, or one line of words separated by commas
    const words = typeof g === 'string' ? g.split(/[,、，]/) : Array.isArray(g) ? g : fail(file, `synonyms[${i}]`, 'a list of words', g);
    const clean = words.map((w: unknown) => (typeof w === 'string' || typeof w === 'number' ? String(w).trim() : fail(file, `synonyms[${i}]`, 'words', w)))
      .filter((w) => w !== '');
    if (clean.length < 2) fail(file, `synonyms[${i}]`, 'at least two words', g);
    return clean;
  });
}

function readRewrite(file: string, raw: unknown): ProviderConfig | null {
  if (raw === undefined || raw === null || raw === false) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) fail(file, 'rewrite', 'a mapping (kind, model, ...)', raw);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!REWRITE_KEYS.includes(k)) fail(file, `rewrite.${k}`, `one of ${REWRITE_KEYS.join(', ')}`, k);
  const kind = (o.kind ?? 'local') as string;
  if (!PROVIDER_KINDS.includes(kind as ProviderKind)) fail(file, 'rewrite.kind', PROVIDER_KINDS.join(', '), kind);
  if (typeof o.model !== 'string' || !o.model) fail(file, 'rewrite.model', kind === 'local' ? 'a model folder' : 'a model name', o.model);
  const cfg: ProviderConfig = { kind: kind as ProviderKind, model: o.model };
  if (typeof o.url === 'string') cfg.url = o.url;
  if (typeof o.key_env === 'string') cfg.keyEnv = o.key_env;
  if (typeof o.adapter === 'string') cfg.adapter = o.adapter;
  if (typeof o.timeout_ms === 'number') cfg.timeoutMs = o.timeout_ms;
  return cfg;
}

export function readKbSettings(kbFile: string): KbSettings {
  const file = settingsFile(kbFile);
  const none: KbSettings = { file, defaultSynonyms: true, synonyms: [], rewrite: null };
  if (!fs.existsSync(file)) return none;
  let raw: unknown;
  try {
    raw = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ShitateError('E_KB_SETTINGS', `${file}: expected YAML, found a syntax error: ${e instanceof Error ? e.message : String(e)}`, 'fix the line shown');
  }
  if (raw === null || raw === undefined) return none;
  // a bare list is a list of groups
  if (Array.isArray(raw)) return { ...none, synonyms: readGroups(file, raw) };
  if (typeof raw !== 'object') fail(file, '(top level)', 'a mapping or a list of groups', raw);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) fail(file, k, `one of the keys ${KEYS.join(', ')}`, k);
  if (o.default_synonyms !== undefined && typeof o.default_synonyms !== 'boolean') fail(file, 'default_synonyms', 'true or false', o.default_synonyms);
  return { file, defaultSynonyms: o.default_synonyms !== false, synonyms: readGroups(file, o.synonyms), rewrite: readRewrite(file, o.rewrite) };
}

/** The groups search uses: the company's first (a word in both keeps its own group's meaning), then the defaults. */
export function effectiveGroups(s: KbSettings): readonly (readonly string[])[] {
  return [...s.synonyms, ...(s.defaultSynonyms ? DEFAULT_SYNONYMS : [])];
}

/** A starter file: the format, commented examples, and the defaults switched on. */
export function starterSettings(name: string): string {
  return `# Search settings of knowledge base "${name}" (shitate reads this file at every search).
#
# Related terms: each group lists words your customers and your documents use for the same thing; a
# question that uses one finds entries that use another. These are added to shitate's own groups of
# everyday support vocabulary (送料/郵送代/配送料, キャンセル/取り消し, 返金/払い戻し, ...).
default_synonyms: true
synonyms:
#  - [MD-200, 電動ドライバー, ドライバー]
#  - [モリノス会員, メンバー]
#
# Query rewriting (optional): a chat model rewrites each question into this knowledge base's wording
# before search; results for both wordings are fused. A local model folder, or an OpenAI-compatible server.
# rewrite:
#   kind: local
#   model: models/qwen2.5-0.5b-instruct
`;
}
