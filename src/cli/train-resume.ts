// `shitate train --resume RUN_DIR` with settings given again: the run's saved config is the base, and
// flags, --config and SHITATE_* are layered over it. Changes to settings that keep the run exact (how long
// to train, how often to save or validate, threads) are applied and listed; any other change is refused,
// since silently ignoring it (or mixing it into a half-trained run) would surprise.
import path from 'node:path';
import { kebab, resolveConfig, snake, type Layers, type Schema, type Source, type Value } from '../config/resolve.js';
import { ShitateError } from '../errors.js';
import type { SavedRunConfig } from '../train/state-file.js';

/** Settings a resumed run may change. max_steps/epochs move the end (and so the learning-rate schedule). */
export const RESUME_SAFE: ReadonlySet<string> = new Set([
  'maxSteps', 'epochs', 'threads', 'saveEvery', 'evalEvery', 'earlyStoppingPatience', 'earlyStoppingMinDelta',
  'maxMemoryGb', 'force', 'purpose', 'acceptLicence',
]);

const where = (key: string, src: Source): string => (src === 'flag' ? `flag --${kebab(key)}` : src === 'env' ? `environment SHITATE_${snake(key).toUpperCase()}` : 'the --config file');
const show = (v: Value | undefined): string => JSON.stringify(v ?? null);

export interface ResumeSettings<T> {
  config: T;
  sources: Record<string, string>;
  /** one line per setting that changed, for the user */
  changes: string[];
}

export function resumeSettings<T extends Record<string, Value>>(schema: Schema, defaults: T, saved: SavedRunConfig<Record<string, unknown>>,
  runDir: string, layers: Layers): ResumeSettings<T> {
  const base = { ...defaults, ...(saved.config as Partial<T>), out: runDir } as T;
  const r = resolveConfig(schema, base, layers);
  const values = r.values as Record<string, Value>;
  const changed: { key: string; from: Value; to: Value; src: Source }[] = [];
  for (const [key, src] of Object.entries(r.sources) as [string, Source][]) {
    if (src === 'default' || JSON.stringify(values[key]) === JSON.stringify(base[key])) continue;
    if (key === 'out' && typeof values[key] === 'string' && path.resolve(values[key] as string) === path.resolve(runDir)) continue;
    changed.push({ key, from: base[key], to: values[key], src });
  }
  const refused = changed.filter((c) => !RESUME_SAFE.has(c.key));
  if (refused.length > 0) {
    const list = refused.map((c) => `${snake(c.key)} ${show(c.from)} -> ${show(c.to)} (${where(c.key, c.src)})`).join('; ');
    throw new ShitateError('E_RESUME', `train --resume ${runDir}: expected the run's saved settings, found changes: ${list}`,
      `leave these out to continue the run exactly, or start a new run with --out NEW_DIR. On resume only these may change: ${[...RESUME_SAFE].map(snake).join(', ')}`);
  }
  const sources: Record<string, string> = { ...saved.sources };
  for (const c of changed) sources[c.key] = c.src;
  const changes = changed.map((c) => `${snake(c.key)} ${show(c.from)} -> ${show(c.to)} (${where(c.key, c.src)})` +
    (c.key === 'maxSteps' || c.key === 'epochs' ? '; the learning-rate schedule now spans the new length' : ''));
  return { config: { ...(values as T), out: runDir }, sources, changes };
}
