// SQLite files for knowledge bases and memory: WAL mode, foreign keys, a busy timeout so concurrent
// processes wait for each other instead of failing, schema migrations numbered by PRAGMA user_version and
// applied under an immediate (write-locked) transaction, and owner-only permissions (0700 folder, 0600 files).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ShitateError } from '../errors.js';

export type Db = Database.Database;

/** Migration i (0-based) takes the schema from version i to i + 1. Append only; never edit a shipped one. */
export type Migration = (db: Db) => void;

export interface OpenOptions {
  /** fail instead of creating a missing file */
  mustExist?: boolean;
  /** what the file is, for messages ("knowledge base handbook") */
  what: string;
}

/** How long a writer waits for another process's write lock before giving up. */
export const BUSY_TIMEOUT_MS = 15_000;

/** Tightens a file or folder we own to owner-only access; other people's files are left as they are. */
function ownerOnly(p: string, mode: number): void {
  try {
    const st = fs.statSync(p);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return;
    if ((st.mode & 0o777) !== mode) fs.chmodSync(p, mode);
  } catch {
    // missing (the -wal/-shm files come and go) or a file system without modes: nothing to tighten
  }
}

/** Creates the folder (0700) and an empty database file (0600) so SQLite never creates them world-readable;
 *  SQLite gives its -wal and -shm files the database file's mode. */
function prepareFile(file: string): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  ownerOnly(dir, 0o700);
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) ownerOnly(f, 0o600);
}

/** journal_mode = WAL, tried again for a while when the file is busy: switching needs an exclusive lock, and
 *  SQLite answers SQLITE_BUSY at once, without waiting on the busy timeout, when waiting could deadlock with
 *  another connection's lock (several processes opening a new file at the same moment). */
function enableWal(db: Db): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let wait = 5; ; wait = Math.min(2 * wait, 200)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw e;
      Atomics.wait(pause, 0, 0, wait); // a synchronous sleep: opening is synchronous
    }
  }
}

export function openDb(file: string, migrations: readonly Migration[], o: OpenOptions): Db {
  if (o.mustExist && !fs.existsSync(file)) {
    throw new ShitateError('E_NOT_FOUND', `${o.what}: expected ${file}, found no such file`, 'create it first (the command that adds to it creates it)');
  }
  let db: Db;
  try {
    prepareFile(file);
    db = new Database(file);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`); // first: switching to WAL may itself wait for another process
    enableWal(db);
  } catch (e) {
    throw new ShitateError('E_DB', `${o.what}: could not open ${file}: ${e instanceof Error ? e.message : String(e)}`,
      'the file may be damaged or not a SQLite database; move it away and rebuild it');
  }
  db.pragma('foreign_keys = ON');
  try {
    migrate(db, migrations, o.what, file);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

function migrate(db: Db, migrations: readonly Migration[], what: string, file: string): void {
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  if (version() === migrations.length) return;
  // Under the write lock the version is read again: another process may have migrated meanwhile, and
  // two processes creating the same new file must not both run migration 0.
  db.transaction(() => {
    const current = version();
    if (current > migrations.length) {
      throw new ShitateError('E_DB', `${what}: ${file} has schema version ${current}; this shitate knows up to ${migrations.length}`,
        'upgrade shitate to open it');
    }
    for (let v = current; v < migrations.length; v++) {
      migrations[v](db);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}
