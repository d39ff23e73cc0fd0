// Assistant profiles: one YAML file per assistant with its instructions, persona, provider, generation
// settings, knowledge bases and memory switch. Read strictly: unknown keys and wrong types are errors that
// name the file and the key.
import YAML from 'yaml';
import { ShitateError } from '../errors.js';
import { PROVIDER_KINDS, type GenParams, type ProviderConfig, type ProviderKind } from '../providers/index.js';
import type { KnowledgeMode } from '../rag/index.js';

export interface KnowledgeSettings {
  bases: string[];
  topK: number;
  mode: KnowledgeMode;
  /** auto mode: whole documents while all of them together stay under this many characters */
  wholeMaxChars: number;
  budgetTokens: number;
  /** source-anchored decoding with the local engine: the logit bonus for quoting the retrieved passages
   *  (generate/anchor.ts; 0: off). Hosted models ignore it. */
  quote: number;
}

export interface MemorySettings {
  enabled: boolean;
  /** let the model pick facts to remember from each message */
  auto: boolean;
  budgetTokens: number;
}

export interface Profile {
  /** the file name without .yaml; what `assistant chat NAME` and a server request's `model` use */
  id: string;
  /** display name */
  name: string;
  description: string;
  instructions: string;
  tone: string;
  language: string;
  starters: string[];
  provider: ProviderConfig;
  /** provider.context_tokens: the model's context when shitate cannot know it (a self-hosted server), or a
   *  smaller one to keep prompts short; unset, the model's own (max_position_embeddings or the published limit) */
  contextTokens?: number;
  generation: GenParams;
  knowledge: KnowledgeSettings;
  memory: MemorySettings;
  variables: Record<string, string>;
}

/** What a new assistant is told when no instructions are given. */
export const DEFAULT_INSTRUCTIONS = 'You are a helpful assistant.';

export const KNOWLEDGE_DEFAULTS: Omit<KnowledgeSettings, 'bases'> = { topK: 5, mode: 'auto', wholeMaxChars: 6000, budgetTokens: 1500, quote: 0 };
export const MEMORY_DEFAULTS: MemorySettings = { enabled: false, auto: false, budgetTokens: 300 };

type Obj = Record<string, unknown>;

class Reader {
  constructor(readonly file: string) {}

  fail(key: string, expected: string, found: unknown, hint = 'fix the profile file'): never {
    const shown = found === undefined ? 'nothing' : JSON.stringify(found)?.slice(0, 80);
    throw new ShitateError('E_PROFILE', `${this.file}: ${key}: expected ${expected}, found ${shown}`, hint);
  }

  obj(v: unknown, key: string, allowed: readonly string[]): Obj {
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(key, 'a mapping', v);
    for (const k of Object.keys(v as Obj)) {
      if (!allowed.includes(k)) this.fail(`${key ? `${key}.` : ''}${k}`, `one of the keys ${allowed.join(', ')}`, k, 'check the spelling of the key');
    }
    return v as Obj;
  }

  str(o: Obj, key: string, where: string, dflt: string): string {
    const v = o[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'string' && typeof v !== 'number') this.fail(`${where}${key}`, 'text', v);
    return String(v);
  }

  num(o: Obj, key: string, where: string, min: number, max: number, integer = false): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      this.fail(`${where}${key}`, `${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`, v);
    }
    return v;
  }

  list(o: Obj, key: string, where: string): string[] {
    const v = o[key];
    if (v === undefined || v === null) return [];
    if (typeof v === 'string') return [v];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) this.fail(`${where}${key}`, 'a list of texts', v);
    return v as string[];
  }

  bool(o: Obj, key: string, where: string, dflt: boolean): boolean {
    const v = o[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') this.fail(`${where}${key}`, 'true or false', v);
    return v;
  }
}

const TOP = ['name', 'description', 'instructions', 'tone', 'language', 'starters', 'provider', 'generation', 'knowledge', 'memory', 'variables'];

const PROVIDER_KEYS = ['kind', 'model', 'url', 'key', 'key_env', 'adapter', 'timeout_ms', 'retries', 'backoff_ms', 'context_tokens'];

function readProvider(r: Reader, raw: unknown): ProviderConfig {
  const o = r.obj(raw, 'provider', PROVIDER_KEYS);
  const kind = r.str(o, 'kind', 'provider.', '');
  if (!PROVIDER_KINDS.includes(kind as ProviderKind)) r.fail('provider.kind', `one of ${PROVIDER_KINDS.join(', ')}`, kind || undefined, 'e.g. kind: openai (also for Ollama and vLLM)');
  const model = r.str(o, 'model', 'provider.', '');
  if (!model) r.fail('provider.model', kind === 'local' ? 'the model folder' : 'a model name', undefined);
  const cfg: ProviderConfig = { kind: kind as ProviderKind, model };
  const opt = { url: r.str(o, 'url', 'provider.', ''), key: r.str(o, 'key', 'provider.', ''), keyEnv: r.str(o, 'key_env', 'provider.', ''), adapter: r.str(o, 'adapter', 'provider.', '') };
  for (const [k, v] of Object.entries(opt)) if (v) (cfg as unknown as Record<string, string>)[k] = v;
  if (cfg.adapter && kind !== 'local') r.fail('provider.adapter', 'an adapter only with kind: local', cfg.adapter, 'hosted models cannot load local adapters; remove the key');
  const timeoutMs = r.num(o, 'timeout_ms', 'provider.', 100, 3_600_000, true);
  const retries = r.num(o, 'retries', 'provider.', 0, 10, true);
  const backoffMs = r.num(o, 'backoff_ms', 'provider.', 0, 60_000, true);
  if (timeoutMs !== undefined) cfg.timeoutMs = timeoutMs;
  if (retries !== undefined) cfg.retries = retries;
  if (backoffMs !== undefined) cfg.backoffMs = backoffMs;
  return cfg;
}

function contextOf(r: Reader, raw: unknown): Pick<Profile, 'contextTokens'> {
  const tokens = r.num(r.obj(raw, 'provider', PROVIDER_KEYS), 'context_tokens', 'provider.', 64, 100_000_000, true);
  return tokens === undefined ? {} : { contextTokens: tokens };
}

function readGeneration(r: Reader, raw: unknown): GenParams {
  const o = r.obj(raw, 'generation', ['temperature', 'top_p', 'top_k', 'max_tokens', 'stop', 'seed']);
  const g: GenParams = {};
  const set = <K extends keyof GenParams>(k: K, v: GenParams[K] | undefined) => {
    if (v !== undefined) g[k] = v;
  };
  set('temperature', r.num(o, 'temperature', 'generation.', 0, 2));
  set('topP', r.num(o, 'top_p', 'generation.', 0, 1));
  set('topK', r.num(o, 'top_k', 'generation.', 0, 1_000_000, true));
  set('maxTokens', r.num(o, 'max_tokens', 'generation.', 1, 1_000_000, true));
  set('seed', r.num(o, 'seed', 'generation.', 0, Number.MAX_SAFE_INTEGER, true));
  const stop = r.list(o, 'stop', 'generation.');
  if (stop.length) g.stop = stop;
  return g;
}

function readKnowledge(r: Reader, raw: unknown): KnowledgeSettings {
  if (Array.isArray(raw) || typeof raw === 'string') return { bases: r.list({ k: raw }, 'k', 'knowledge'), ...KNOWLEDGE_DEFAULTS };
  const o = r.obj(raw, 'knowledge', ['bases', 'top_k', 'mode', 'whole_max_chars', 'budget_tokens', 'quote']);
  const mode = r.str(o, 'mode', 'knowledge.', KNOWLEDGE_DEFAULTS.mode);
  if (!['auto', 'chunks', 'whole'].includes(mode)) r.fail('knowledge.mode', 'auto, chunks or whole', mode);
  return {
    bases: r.list(o, 'bases', 'knowledge.'),
    topK: r.num(o, 'top_k', 'knowledge.', 1, 50, true) ?? KNOWLEDGE_DEFAULTS.topK,
    mode: mode as KnowledgeMode,
    wholeMaxChars: r.num(o, 'whole_max_chars', 'knowledge.', 0, 10_000_000, true) ?? KNOWLEDGE_DEFAULTS.wholeMaxChars,
    budgetTokens: r.num(o, 'budget_tokens', 'knowledge.', 50, 1_000_000, true) ?? KNOWLEDGE_DEFAULTS.budgetTokens,
    quote: r.num(o, 'quote', 'knowledge.', 0, 100, false) ?? KNOWLEDGE_DEFAULTS.quote,
  };
}

function readMemory(r: Reader, raw: unknown): MemorySettings {
  if (typeof raw === 'boolean') return { ...MEMORY_DEFAULTS, enabled: raw };
  const o = r.obj(raw, 'memory', ['enabled', 'auto', 'budget_tokens']);
  return {
    enabled: r.bool(o, 'enabled', 'memory.', raw !== undefined && raw !== null),
    auto: r.bool(o, 'auto', 'memory.', false),
    budgetTokens: r.num(o, 'budget_tokens', 'memory.', 0, 100_000, true) ?? MEMORY_DEFAULTS.budgetTokens,
  };
}

export function parseProfile(id: string, text: string, file: string): Profile {
  const r = new Reader(file);
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (e) {
    throw new ShitateError('E_PROFILE', `${file}: expected YAML, found a syntax error: ${e instanceof Error ? e.message : String(e)}`, 'fix the line shown');
  }
  const o = r.obj(raw, '', TOP);
  const vars = r.obj(o.variables, 'variables', Object.keys((o.variables as Obj | undefined) ?? {}));
  const variables: Record<string, string> = {};
  for (const k of Object.keys(vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) r.fail(`variables.${k}`, 'a name of letters, digits and _', k);
    variables[k] = r.str(vars, k, 'variables.', '');
  }
  return {
    id, name: r.str(o, 'name', '', id), description: r.str(o, 'description', '', ''), instructions: r.str(o, 'instructions', '', ''),
    tone: r.str(o, 'tone', '', ''), language: r.str(o, 'language', '', ''), starters: r.list(o, 'starters', ''),
    provider: readProvider(r, o.provider), ...contextOf(r, o.provider), generation: readGeneration(r, o.generation),
    knowledge: readKnowledge(r, o.knowledge), memory: readMemory(r, o.memory), variables,
  };
}

/** The profile as YAML, in the file's own snake_case keys; unset optional fields are left out. */
export function profileToYaml(p: Profile): string {
  const prune = (o: Obj): Obj => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0)));
  const pv = p.provider;
  const g = p.generation;
  const doc = prune({
    name: p.name, description: p.description, instructions: p.instructions, tone: p.tone, language: p.language, starters: p.starters,
    provider: prune({ kind: pv.kind, model: pv.model, url: pv.url, key_env: pv.keyEnv, key: pv.key, adapter: pv.adapter, timeout_ms: pv.timeoutMs, retries: pv.retries, backoff_ms: pv.backoffMs,
      context_tokens: p.contextTokens }),
    generation: prune({ temperature: g.temperature, top_p: g.topP, top_k: g.topK, max_tokens: g.maxTokens, stop: g.stop, seed: g.seed }),
    knowledge: { bases: p.knowledge.bases, top_k: p.knowledge.topK, mode: p.knowledge.mode, whole_max_chars: p.knowledge.wholeMaxChars, budget_tokens: p.knowledge.budgetTokens,
      ...(p.knowledge.quote ? { quote: p.knowledge.quote } : {}) },
    memory: { enabled: p.memory.enabled, auto: p.memory.auto, budget_tokens: p.memory.budgetTokens },
    variables: Object.keys(p.variables).length ? p.variables : undefined,
  });
  return YAML.stringify(doc, { lineWidth: 0 });
}
