// The studio's folder on disk: uploads, prepared datasets, training runs, evaluations, exports and the
// preference data from the playground, each item a folder named by an id. Everything the page shows is read
// back from here, so it survives page reloads and studio restarts. Shapes: <dir>/<kind>/<id>/...
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { badField, notFound } from './errors.js';

export const KINDS = ['uploads', 'data', 'runs', 'evals', 'exports', 'feedback'] as const;
export type Kind = (typeof KINDS)[number];

/** Ids are folder names: letters, digits, - and _ (never a path). */
export const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/;

export class Workspace {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    for (const k of KINDS) fs.mkdirSync(path.join(this.dir, k), { recursive: true });
  }

  kindDir(kind: Kind): string {
    return path.join(this.dir, kind);
  }

  /** Folder of an existing item; 404 when there is none, 400 for an id that is not a plain name. */
  item(kind: Kind, id: string, what: string): string {
    checkId(id, what);
    const dir = path.join(this.dir, kind, id);
    if (!fs.existsSync(dir)) throw notFound(what, id);
    return dir;
  }

  /** A new, empty item folder with a time-ordered id (prefix-20261204-141230-3f2a). */
  create(kind: Kind, prefix: string): { id: string; dir: string } {
    for (;;) {
      const id = `${prefix}-${stamp(new Date())}-${Math.random().toString(16).slice(2, 6)}`;
      const dir = path.join(this.dir, kind, id);
      try {
        fs.mkdirSync(dir);
        return { id, dir };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  }

  /** Ids of a kind, newest first (ids start with a time stamp after the prefix). */
  list(kind: Kind): string[] {
    const dir = this.kindDir(kind);
    return fs.readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && ID_RE.test(d.name))
      .map((d) => d.name)
      .sort((a, b) => idTime(b).localeCompare(idTime(a)) || b.localeCompare(a));
  }
}

export function checkId(id: string, what: string): string {
  if (!ID_RE.test(id)) throw badField(what, 'an id of letters, digits, - and _', id, 'use the ids the studio lists');
  return id;
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** The time part of an id (after the first '-'), for sorting across prefixes. */
function idTime(id: string): string {
  const i = id.indexOf('-');
  return i < 0 ? id : id.slice(i + 1);
}

/** A JSON file the studio wrote, or null when it does not exist (yet). */
export function readJson<T>(file: string): T | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new ShitateError('E_STUDIO_FILE', `${file}: expected JSON written by the studio, found unreadable content (${(e as Error).message})`,
      'the file was edited or damaged: restore it, or move the folder out of the studio folder');
  }
}

export function writeJson(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}
