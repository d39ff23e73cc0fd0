// Flag parsing for commands (node:util parseArgs) with errors that say which flag and what is expected.
import { parseArgs } from 'node:util';
import { ShitateError } from '../errors.js';

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export interface Parsed {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export function parseFlags(command: string, argv: string[], options: FlagSpec, allowPositionals = false): Parsed {
  try {
    const r = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals, strict: true });
    return { values: r.values as Parsed['values'], positionals: r.positionals };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new ShitateError('E_USAGE', `${command}: ${msg}`, `run \`shitate ${command} --help\` for the accepted options`);
  }
}

export function flagBool(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

export function flagStr(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flagList(p: Parsed, name: string): string[] {
  const v = p.values[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}
