// The knowledge-base file's schema. Chunks feed two full-text indexes: a trigram index over the
// normalised text (substrings, any language) and a word index over kuromoji tokens (short Japanese words,
// English stems); both rank with BM25. Migrations are append-only. They run under a write lock (sqlite.ts);
// IF NOT EXISTS everywhere is the second guard: objects another writer already made are not an error.
import type { Migration } from './sqlite.js';

export const KB_MIGRATIONS: readonly Migration[] = [
  (db) => db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS documents (
      id INTEGER PRIMARY KEY,
      path TEXT NOT NULL UNIQUE,
      name TEXT NOT NULL,
      kind TEXT NOT NULL,
      sha256 TEXT,
      size INTEGER NOT NULL,
      mtime_ms INTEGER NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('indexed', 'failed')),
      error TEXT,
      hint TEXT,
      pages INTEGER,
      text TEXT NOT NULL DEFAULT '',
      updated_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS chunks (
      id INTEGER PRIMARY KEY,
      doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
      seq INTEGER NOT NULL,
      hash TEXT NOT NULL,
      text TEXT NOT NULL,
      section TEXT NOT NULL,
      page_start INTEGER, page_end INTEGER, row_start INTEGER, row_end INTEGER,
      char_start INTEGER NOT NULL,
      char_end INTEGER NOT NULL,
      norm TEXT NOT NULL,
      morph TEXT NOT NULL,
      embedding BLOB
    );
    CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, seq);
    CREATE VIRTUAL TABLE IF NOT EXISTS chunks_tri USING fts5(norm, content='chunks', content_rowid='id', tokenize='trigram case_sensitive 0');
    CREATE VIRTUAL TABLE IF NOT EXISTS chunks_word USING fts5(morph, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2');
    CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
      INSERT INTO chunks_tri(rowid, norm) VALUES (new.id, new.norm);
      INSERT INTO chunks_word(rowid, morph) VALUES (new.id, new.morph);
    END;
    CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
      INSERT INTO chunks_tri(chunks_tri, rowid, norm) VALUES ('delete', old.id, old.norm);
      INSERT INTO chunks_word(chunks_word, rowid, morph) VALUES ('delete', old.id, old.morph);
    END;
    CREATE TRIGGER IF NOT EXISTS chunks_au AFTER UPDATE OF norm, morph ON chunks BEGIN
      INSERT INTO chunks_tri(chunks_tri, rowid, norm) VALUES ('delete', old.id, old.norm);
      INSERT INTO chunks_word(chunks_word, rowid, morph) VALUES ('delete', old.id, old.morph);
      INSERT INTO chunks_tri(rowid, norm) VALUES (new.id, new.norm);
      INSERT INTO chunks_word(rowid, morph) VALUES (new.id, new.morph);
    END;
  `),
  // FAQ entries: a row of a question/answer table keeps its question and answer cells (JSON), which the FAQ
  // ranking weighs apart; NULL for passages. A base indexed before this keeps working; re-adding its
  // tables (kb add) makes their rows entries.
  (db) => {
    const cols = db.prepare('PRAGMA table_info(chunks)').all() as { name: string }[];
    if (!cols.some((c) => c.name === 'fields')) db.exec('ALTER TABLE chunks ADD COLUMN fields TEXT');
  },
];
