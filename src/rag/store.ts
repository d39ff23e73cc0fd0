// One knowledge base = one SQLite file: documents with their status, chunks with source positions and
// optional embeddings. Replacing a document keeps the chunks whose content did not change (and their
// embeddings) and touches only the rest, in one transaction.
import fs from 'node:fs';
import { ShitateError } from '../errors.js';
import type { Chunk } from './chunk.js';
import type { EntryFields } from './extract/index.js';
import { checkName, kbFile } from './home.js';
import { KB_MIGRATIONS } from './schema.js';
import { openDb, type Db } from './sqlite.js';

export interface DocRow {
  id: number;
  path: string;
  name: string;
  kind: string;
  sha256: string | null;
  size: number;
  mtime_ms: number;
  status: 'indexed' | 'failed';
  error: string | null;
  hint: string | null;
  pages: number | null;
  chunks: number;
  chars: number;
  updated_at: string;
}

/** A chunk ready to store: its content hash and the text each index reads. */
export interface PreparedChunk extends Chunk {
  hash: string;
  norm: string;
  morph: string;
  embedding: Float32Array | null;
}

export interface DocInput {
  path: string;
  name: string;
  kind: string;
  sha256: string;
  size: number;
  mtimeMs: number;
  pages: number | null;
  text: string;
  chunks: PreparedChunk[];
}

export interface ReplaceCounts {
  added: number;
  removed: number;
  kept: number;
}

/** Where embeddings come from; the key stays in the environment, only its variable name is stored. */
export interface EmbedSettings {
  url: string;
  model: string;
  keyEnv?: string;
  /** a local encoder folder (absolute) embeds instead of an endpoint; url is then empty */
  local?: string;
  /** prompts given for the local model instead of its own */
  queryPrefix?: string;
  passagePrefix?: string;
}

const toBlob = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
export const fromBlob = (b: Buffer): Float32Array => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const now = (): string => new Date().toISOString();

export class KnowledgeBase {
  private constructor(readonly name: string, readonly file: string, readonly db: Db) {}

  static open(home: string, name: string, opts: { create: boolean }): KnowledgeBase {
    checkName('knowledge base', name);
    const file = kbFile(home, name);
    if (!opts.create && !fs.existsSync(file)) {
      throw new ShitateError('E_KB_NOT_FOUND', `knowledge base "${name}": expected ${file}, found no such file`,
        `create it with: shitate kb add ${name} FILES...`);
    }
    return new KnowledgeBase(name, file, openDb(file, KB_MIGRATIONS, { what: `knowledge base ${name}` }));
  }

  close(): void {
    this.db.close();
  }

  getMeta(key: string): string | null {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return r?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  embedSettings(): EmbedSettings | null {
    const raw = this.getMeta('embed');
    return raw ? (JSON.parse(raw) as EmbedSettings) : null;
  }

  documents(): DocRow[] {
    return this.db.prepare(`SELECT d.id, d.path, d.name, d.kind, d.sha256, d.size, d.mtime_ms, d.status, d.error, d.hint, d.pages, d.updated_at,
      length(d.text) AS chars, (SELECT count(*) FROM chunks c WHERE c.doc_id = d.id) AS chunks FROM documents d ORDER BY d.name`).all() as DocRow[];
  }

  document(absPath: string): DocRow | null {
    return this.documents().find((d) => d.path === absPath) ?? null;
  }

  /** Hashes of the chunks stored for a document (to know which need new embeddings). */
  chunkHashes(absPath: string): Set<string> {
    const rows = this.db.prepare('SELECT c.hash FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE d.path = ?').all(absPath) as { hash: string }[];
    return new Set(rows.map((r) => r.hash));
  }

  /** Marks a file as failed; a previous good version's chunks stay searchable. */
  recordFailure(f: { path: string; name: string; kind: string; size: number; mtimeMs: number }, error: string, hint: string): void {
    this.db.prepare(`INSERT INTO documents (path, name, kind, size, mtime_ms, status, error, hint, updated_at)
      VALUES (@path, @name, @kind, @size, @mtimeMs, 'failed', @error, @hint, @at)
      ON CONFLICT(path) DO UPDATE SET status = 'failed', error = excluded.error, hint = excluded.hint, updated_at = excluded.updated_at`)
      .run({ ...f, error, hint, at: now() });
  }

  replaceDocument(doc: DocInput): ReplaceCounts {
    return this.db.transaction((): ReplaceCounts => {
      this.db.prepare(`INSERT INTO documents (path, name, kind, sha256, size, mtime_ms, status, error, hint, pages, text, updated_at)
        VALUES (@path, @name, @kind, @sha256, @size, @mtimeMs, 'indexed', NULL, NULL, @pages, @text, @at)
        ON CONFLICT(path) DO UPDATE SET name = excluded.name, kind = excluded.kind, sha256 = excluded.sha256, size = excluded.size,
          mtime_ms = excluded.mtime_ms, status = 'indexed', error = NULL, hint = NULL, pages = excluded.pages, text = excluded.text,
          updated_at = excluded.updated_at`).run({ ...doc, at: now() });
      const { id } = this.db.prepare('SELECT id FROM documents WHERE path = ?').get(doc.path) as { id: number };
      const old = this.db.prepare('SELECT id, hash FROM chunks WHERE doc_id = ?').all(id) as { id: number; hash: string }[];
      const byHash = new Map<string, number[]>();
      for (const o of old) byHash.set(o.hash, [...(byHash.get(o.hash) ?? []), o.id]);
      const move = this.db.prepare(`UPDATE chunks SET seq = @seq, page_start = @pageStart, page_end = @pageEnd, row_start = @rowStart,
        row_end = @rowEnd, char_start = @charStart, char_end = @charEnd, fields = @fieldsJson WHERE id = @id`);
      const insert = this.db.prepare(`INSERT INTO chunks (doc_id, seq, hash, text, section, page_start, page_end, row_start, row_end,
        char_start, char_end, norm, morph, embedding, fields) VALUES (@docId, @seq, @hash, @text, @section, @pageStart, @pageEnd, @rowStart, @rowEnd,
        @charStart, @charEnd, @norm, @morph, @embedding, @fieldsJson)`);
      let kept = 0;
      for (const c of doc.chunks) {
        const reuse = byHash.get(c.hash)?.shift();
        const row = { ...c, docId: id, embedding: c.embedding ? toBlob(c.embedding) : null, fieldsJson: c.fields ? JSON.stringify(c.fields) : null };
        if (reuse !== undefined) {
          move.run({ ...row, id: reuse });
          kept++;
        } else insert.run(row);
      }
      const stale = [...byHash.values()].flat();
      const del = this.db.prepare('DELETE FROM chunks WHERE id = ?');
      for (const s of stale) del.run(s);
      return { added: doc.chunks.length - kept, removed: stale.length, kept };
    }).immediate(); // take the write lock first: a deferred read-then-write fails at once under a concurrent writer
  }

  removeDocument(absPath: string): boolean {
    return this.db.transaction(() => {
      const r = this.db.prepare('SELECT id FROM documents WHERE path = ?').get(absPath) as { id: number } | undefined;
      if (!r) return false;
      this.db.prepare('DELETE FROM chunks WHERE doc_id = ?').run(r.id);
      this.db.prepare('DELETE FROM documents WHERE id = ?').run(r.id);
      return true;
    }).immediate();
  }

  /** Chunks without an embedding (new ones whose embedding failed, or all of them before embeddings were set up). */
  unembedded(limit = 10_000): { id: number; text: string; section: string }[] {
    return this.db.prepare('SELECT id, text, section FROM chunks WHERE embedding IS NULL LIMIT ?').all(limit) as { id: number; text: string; section: string }[];
  }

  setEmbeddings(rows: { id: number; vec: Float32Array }[]): void {
    const st = this.db.prepare('UPDATE chunks SET embedding = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const r of rows) st.run(toBlob(r.vec), r.id);
    }).immediate();
  }

  /** FAQ entries (rows of question/answer tables): chunk id, text and fields. */
  entries(): { id: number; text: string; fields: EntryFields }[] {
    const rows = this.db.prepare('SELECT id, text, fields FROM chunks WHERE fields IS NOT NULL ORDER BY id').all() as { id: number; text: string; fields: string }[];
    return rows.map((r) => ({ id: r.id, text: r.text, fields: JSON.parse(r.fields) as EntryFields }));
  }

  /** Changes whenever the FAQ entries change (in this process or another), for caches built from them. */
  entriesStamp(): string {
    const r = this.db.prepare('SELECT count(*) AS n, coalesce(max(id), 0) AS m, coalesce(sum(length(fields)), 0) AS s FROM chunks WHERE fields IS NOT NULL')
      .get() as { n: number; m: number; s: number };
    return `${r.n}:${r.m}:${r.s}`;
  }

  stats(): { documents: number; failed: number; chunks: number; chars: number } {
    return this.db.prepare(`SELECT (SELECT count(*) FROM documents) AS documents, (SELECT count(*) FROM documents WHERE status = 'failed') AS failed,
      (SELECT count(*) FROM chunks) AS chunks, (SELECT coalesce(sum(length(text)), 0) FROM documents WHERE status = 'indexed') AS chars`).get() as
      { documents: number; failed: number; chunks: number; chars: number };
  }
}
