// Long-term memory in one SQLite file: facts per user (and per assistant; facts kept without an assistant
// are shared by all of that user's assistants). Every read and write is scoped to one user, and deleting
// overwrites the bytes (secure_delete) and empties the write-ahead log, so a forgotten fact is gone from disk.
import { ShitateError } from '../errors.js';
import { cleanControls, countControls } from '../data/sanitize.js';
import { memoryFile } from '../rag/home.js';
import { openDb, type Db, type Migration } from '../rag/sqlite.js';

export type MemorySource = 'user' | 'auto';

export interface MemoryItem {
  id: number;
  userId: string;
  /** '' for facts shared by all of the user's assistants */
  assistant: string;
  text: string;
  source: MemorySource;
  createdAt: string;
}

const MIGRATIONS: readonly Migration[] = [
  (db) => db.exec(`
    CREATE TABLE IF NOT EXISTS memories (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      user_id TEXT NOT NULL,
      assistant TEXT NOT NULL DEFAULT '',
      text TEXT NOT NULL,
      source TEXT NOT NULL CHECK (source IN ('user', 'auto')),
      created_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS memories_user ON memories(user_id, assistant);
  `),
];

/** The longest fact kept; longer ones are refused rather than cut. */
export const MAX_FACT_CHARS = 500;

export function checkUser(userId: string): string {
  if (typeof userId !== 'string' || userId.trim() === '' || userId.length > 200) {
    throw new ShitateError('E_MEMORY_USER', `user id: expected 1-200 characters, found ${JSON.stringify(userId)}`,
      'pass --user NAME (or set SHITATE_USER); each user has their own memory');
  }
  const bad = countControls(userId);
  if (bad.count > 0) {
    throw new ShitateError('E_MEMORY_USER', `user id ${JSON.stringify(userId)}: expected no control characters or broken UTF-16, found ${bad.names}`,
      'use a plain name or id for the user');
  }
  return userId;
}

interface Row { id: number; user_id: string; assistant: string; text: string; source: MemorySource; created_at: string }
const item = (r: Row): MemoryItem => ({ id: r.id, userId: r.user_id, assistant: r.assistant, text: r.text, source: r.source, createdAt: r.created_at });
const fold = (s: string): string => s.normalize('NFKC').toLowerCase().replace(/[\s。.、,!！?？]+/g, '');

export class MemoryStore {
  private constructor(readonly file: string, private readonly db: Db) {}

  static open(home: string): MemoryStore {
    const file = memoryFile(home);
    const db = openDb(file, MIGRATIONS, { what: 'memory' });
    db.pragma('secure_delete = ON');
    return new MemoryStore(file, db);
  }

  close(): void {
    this.db.close();
  }

  /** One user's memory. With an assistant name: that assistant's facts plus the shared ones; with null:
   *  everything the user has, across assistants (for listing and forgetting). */
  forUser(userId: string, assistant: string | null): UserMemory {
    return new UserMemory(this.db, checkUser(userId), assistant);
  }
}

export class UserMemory {
  constructor(private readonly db: Db, readonly userId: string, readonly assistant: string | null) {}

  list(): MemoryItem[] {
    const rows = this.assistant === null
      ? this.db.prepare('SELECT * FROM memories WHERE user_id = ? ORDER BY id').all(this.userId)
      : this.db.prepare("SELECT * FROM memories WHERE user_id = ? AND assistant IN (?, '') ORDER BY id").all(this.userId, this.assistant);
    return (rows as Row[]).map(item);
  }

  /** Stores a fact unless the same fact (ignoring case, spaces and punctuation) is already there. */
  add(text: string, source: MemorySource = 'user'): MemoryItem | null {
    const t = cleanControls(text).trim();
    if (t === '') throw new ShitateError('E_MEMORY', 'memory: expected a fact to remember, found empty text', 'e.g. "prefers answers in English"');
    if (t.length > MAX_FACT_CHARS) {
      throw new ShitateError('E_MEMORY', `memory: expected a fact of at most ${MAX_FACT_CHARS} characters, found ${t.length}`, 'store the key point only');
    }
    if (this.list().some((m) => fold(m.text) === fold(t))) return null;
    const r = this.db.prepare('INSERT INTO memories (user_id, assistant, text, source, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(this.userId, this.assistant ?? '', t, source, new Date().toISOString());
    return item(this.db.prepare('SELECT * FROM memories WHERE id = ?').get(r.lastInsertRowid) as Row);
  }

  /** Deletes facts by id; ids of other users (or outside this assistant's scope) are not touched. */
  forget(ids: readonly number[]): number {
    const scope = this.assistant === null ? '' : " AND assistant IN (?, '')";
    const st = this.db.prepare(`DELETE FROM memories WHERE id = ? AND user_id = ?${scope}`);
    let n = 0;
    this.db.transaction(() => {
      for (const id of ids) n += (this.assistant === null ? st.run(id, this.userId) : st.run(id, this.userId, this.assistant)).changes;
    }).immediate();
    this.purge();
    return n;
  }

  /** Deletes everything in scope: all of the user's facts (assistant null) or this assistant's own. */
  forgetAll(): number {
    const r = this.assistant === null
      ? this.db.prepare('DELETE FROM memories WHERE user_id = ?').run(this.userId)
      : this.db.prepare('DELETE FROM memories WHERE user_id = ? AND assistant = ?').run(this.userId, this.assistant);
    this.purge();
    return r.changes;
  }

  // secure_delete zeroes the freed bytes in the pages; the checkpoint copies those pages into the main
  // file and truncates the log that still held the old ones
  private purge(): void {
    const [r] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    if (r && r.busy) {
      throw new ShitateError('E_MEMORY_BUSY', 'memory: the deletion is recorded, but another process is reading memory.sqlite, so the old bytes stay in its log for now',
        'stop the other shitate process (e.g. the server) and run the forget command again');
    }
  }
}
