// SQLite files for knowledge bases and memory: WAL mode, foreign keys, and schema migrations numbered by
// PRAGMA user_version, each applied in its own transaction.
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

export function openDb(file: string, migrations: readonly Migration[], o: OpenOptions): Db {
  if (o.mustExist && !fs.existsSync(file)) {
    throw new ShitateError('E_NOT_FOUND', `${o.what}: expected ${file}, found no such file`, 'create it first (the command that adds to it creates it)');
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let db: Db;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
  } catch (e) {
    throw new ShitateError('E_DB', `${o.what}: could not open ${file}: ${e instanceof Error ? e.message : String(e)}`,
      'the file may be damaged or not a SQLite database; move it away and rebuild it');
  }
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, migrations, o.what, file);
  return db;
}

function migrate(db: Db, migrations: readonly Migration[], what: string, file: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    db.close();
    throw new ShitateError('E_DB', `${what}: ${file} has schema version ${current}; this shitate knows up to ${migrations.length}`,
      'upgrade shitate to open it');
  }
  for (let v = current; v < migrations.length; v++) {
    db.transaction(() => {
      migrations[v](db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
