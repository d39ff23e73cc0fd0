// The model picker: Hugging Face model folders on this machine (the bundled model, ./models, the Hugging
// Face cache and folders named with --models), each with its size, whether this engine runs it, and the
// catalog's licence verdict for the purpose the user states. Nothing is downloaded.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { engineSupports } from '../catalog/catalog.js';
import { checkLicence, type Purpose } from '../catalog/gate.js';
import type { Lang } from '../catalog/types.js';
import { openCheckpoint } from '../io/checkpoint.js';
import { numelOf } from '../io/safetensors-header.js';
import { bundledModelDir } from '../demo/paths.js';
import { badField } from './errors.js';

export interface LocalModel {
  path: string;
  name: string;
  modelType: string | null;
  params: number | null;
  supported: boolean;
  /** why the engine cannot load it (null when it can) */
  problem: string | null;
  hasChatTemplate: boolean;
  licence: { decision: string; name: string; id: string; explanation: string; obligations: string[]; source: string | null };
}

/** Where to look by default; `extra` are folders the user named. */
export function defaultModelRoots(extra: string[] = [], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string[] {
  const hfHome = env.HF_HOME ? path.join(env.HF_HOME, 'hub') : path.join(os.homedir(), '.cache', 'huggingface', 'hub');
  const roots = [path.dirname(bundledModelDir()), path.join(cwd, 'models'), env.HF_HUB_CACHE ?? hfHome, ...extra.map((e) => path.resolve(cwd, e))];
  return [...new Set(roots)];
}

const isModelDir = (d: string): boolean => fs.existsSync(path.join(d, 'config.json'));

function subdirs(d: string): string[] {
  try {
    return fs.readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => path.join(d, e.name));
  } catch {
    return []; // an unreadable or missing root simply holds no models
  }
}

/** Model folders under a root: the root itself, its children, grandchildren, and HF cache snapshots. */
export function findModelDirs(root: string): string[] {
  if (isModelDir(root)) return [root];
  const out: string[] = [];
  for (const a of subdirs(root)) {
    if (isModelDir(a)) out.push(a);
    else if (path.basename(a).startsWith('models--')) out.push(...subdirs(path.join(a, 'snapshots')).filter(isModelDir));
    else out.push(...subdirs(a).filter(isModelDir));
  }
  return out;
}

/** Parameters counted from the safetensors headers (exact for any family; no weights are read). */
function paramsOf(dir: string): number {
  const ck = openCheckpoint(dir);
  try {
    let n = 0;
    for (const t of ck.tensors.values()) n += numelOf(t.shape);
    return n;
  } finally {
    ck.close();
  }
}

function describe(dir: string, purpose: Purpose | null, lang: Lang): LocalModel {
  let modelType: string | null = null;
  let params: number | null = null;
  let problem: string | null = null;
  let hasChatTemplate = false;
  try {
    const raw = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { model_type?: unknown };
    modelType = typeof raw.model_type === 'string' ? raw.model_type : null;
    params = paramsOf(dir);
  } catch (e) {
    problem = e instanceof ShitateError ? `${e.message}${e.hint ? ` (${e.hint})` : ''}` : `config.json could not be read: ${(e as Error).message}`;
  }
  if (!problem && !engineSupports(modelType)) problem = `model_type "${modelType}" is not one this engine runs yet`;
  try {
    const tc = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')) as { chat_template?: unknown };
    hasChatTemplate = tc.chat_template !== undefined || fs.existsSync(path.join(dir, 'chat_template.jinja'));
  } catch {
    hasChatTemplate = fs.existsSync(path.join(dir, 'chat_template.jinja'));
  }
  const lic = checkLicence(dir, { purpose, acknowledge: false });
  const name = dir.includes(`${path.sep}snapshots${path.sep}`) ? path.basename(path.dirname(path.dirname(dir))).replace(/^models--/, '').replace('--', '/') : path.basename(dir);
  return {
    path: dir, name, modelType, params, supported: problem === null, problem, hasChatTemplate,
    licence: { decision: lic.decision, name: lic.licenceName, id: lic.licenceId, explanation: lic.explanation[lang],
      obligations: lic.obligations.map((o) => o[lang]), source: lic.source },
  };
}

export function listLocalModels(roots: string[], purpose: Purpose | null, lang: Lang): LocalModel[] {
  const seen = new Set<string>();
  const out: LocalModel[] = [];
  for (const r of roots) {
    for (const d of findModelDirs(r)) {
      const real = fs.realpathSync(d);
      if (seen.has(real)) continue;
      seen.add(real);
      out.push(describe(d, purpose, lang));
    }
  }
  return out;
}

export function describeModel(dir: string, purpose: Purpose | null, lang: Lang): LocalModel {
  return describe(checkModelDir(dir), purpose, lang);
}

/** A model folder from a request: must exist and hold config.json. */
export function checkModelDir(dir: string): string {
  if (!dir) throw badField('model', 'a Hugging Face model folder', dir, 'pick a model on the Method page');
  const abs = path.resolve(dir);
  if (!isModelDir(abs)) {
    throw badField('model', 'a folder with config.json (a Hugging Face model folder)', dir, 'pick one of the models the studio lists, or pass its folder to `shitate studio --models DIR`');
  }
  return abs;
}
