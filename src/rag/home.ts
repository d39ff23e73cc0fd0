// Where customization data lives: a project folder (SHITATE_HOME, else ./.shitate) holding
// assistants/NAME.yaml, kb/NAME.sqlite and memory.sqlite.
import path from 'node:path';
import { ShitateError } from '../errors.js';

export function projectHome(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const fromEnv = env.SHITATE_HOME;
  return fromEnv && fromEnv.trim() !== '' ? path.resolve(cwd, fromEnv) : path.join(cwd, '.shitate');
}

/** Names that become file names: letters, digits, . _ - (no slash, no leading dot). */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkName(kind: string, name: string): string {
  if (!NAME_RE.test(name)) {
    throw new ShitateError('E_USAGE', `${kind} name ${JSON.stringify(name)}: expected 1-64 letters, digits or . _ - (starting with a letter or digit)`,
      `pick a simple name, e.g. ${kind === 'knowledge base' ? 'handbook' : 'support'}`);
  }
  return name;
}

export function kbFile(home: string, name: string): string {
  return path.join(home, 'kb', `${checkName('knowledge base', name)}.sqlite`);
}

export function memoryFile(home: string): string {
  return path.join(home, 'memory.sqlite');
}
