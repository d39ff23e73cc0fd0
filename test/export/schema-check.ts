// Checks a value against a Python type annotation as the engines' sources write them (pydantic models and
// dataclasses): int, float, str, bool, None, list[...], dict[...], Literal[...], unions, Annotated[...].
// Field tables come from test/fixtures/engine-schemas/, extracted from each engine's source at a commit.
import fs from 'node:fs';
import path from 'node:path';

export const schemaFixture = <T>(name: string): T =>
  JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'engine-schemas', `${name}.json`), 'utf8')) as T;

/** Splits "a | b[c | d] | e" at top-level bars (or commas). */
function splitTop(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  let quote: string | null = null;
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '[' || ch === '(') depth++;
    else if (ch === ']' || ch === ')') depth--;
    if (ch === sep && depth === 0 && !quote) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

function literal(tok: string): unknown {
  if (tok === 'True') return true;
  if (tok === 'False') return false;
  if (tok === 'None') return null;
  if (/^["']/.test(tok)) return tok.slice(1, -1);
  return Number(tok);
}

const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Whether `v` fits `ann`; `enums` names the string enums a class name stands for (e.g. ChatTemplate). */
export function fits(v: unknown, ann: string, enums: Record<string, readonly unknown[]> = {}): boolean {
  let a = ann.trim();
  while (a.startsWith('(') && a.endsWith(')')) a = a.slice(1, -1).trim();
  const alts = splitTop(a, '|');
  if (alts.length > 1) return alts.some((x) => fits(v, x, enums));
  if (a === 'None') return v === null;
  if (a === 'int' || a === 'PositiveInt') return Number.isInteger(v) && (a === 'int' || (v as number) > 0);
  if (a === 'float') return typeof v === 'number';
  if (a === 'str') return typeof v === 'string';
  if (a === 'bool') return typeof v === 'boolean';
  if (a === 'Any') return true;
  const m = /^(\w+)\[(.*)\]$/s.exec(a);
  if (m) {
    const [, head, inner] = m;
    if (head === 'Literal') return splitTop(inner, ',').map(literal).includes(v);
    if (head === 'Annotated') return fits(v, splitTop(inner, ',')[0], enums);
    if (head === 'list') return Array.isArray(v) && v.every((x) => fits(x, inner, enums));
    if (head === 'dict') return isObject(v) && Object.values(v as object).every((x) => fits(x, splitTop(inner, ',')[1] ?? 'Any', enums));
    if (head === 'tuple') return Array.isArray(v);
  }
  if (a === 'list') return Array.isArray(v);
  if (a === 'dict') return isObject(v);
  if (enums[a]) return enums[a].includes(v);
  return /^[A-Z]/.test(a) && isObject(v); // a nested model or dataclass
}
