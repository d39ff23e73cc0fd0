// Retrieval: BM25 over the trigram index and over the kuromoji word index, plus cosine similarity over
// embeddings when the knowledge base has them, fused by reciprocal rank (Cormack et al., SIGIR 2009).
import { ShitateError } from '../errors.js';
import type { Embedder } from '../providers/index.js';
import { unit } from './ingest.js';
import { anyOf, loadMorph, normalize } from './morph.js';
import { fromBlob, type KnowledgeBase } from './store.js';

export type Method = 'trigram' | 'word' | 'vector';
export const METHODS: readonly Method[] = ['trigram', 'word', 'vector'];

export interface Hit {
  kb: string;
  chunkId: number;
  doc: string;
  path: string;
  section: string;
  pageStart: number | null;
  pageEnd: number | null;
  rowStart: number | null;
  rowEnd: number | null;
  charStart: number;
  charEnd: number;
  text: string;
  /** fused score (higher is better) */
  score: number;
  /** 1-based rank in each list that found it */
  ranks: Partial<Record<Method, number>>;
}

export interface SearchOptions {
  k?: number;
  /** needed for vector search (the knowledge base must have embeddings) */
  embedder?: Embedder | null;
  /** which lists to fuse (default: all available) */
  methods?: readonly Method[];
  /** how deep each list is read before fusing */
  depth?: number;
  /** with this, a failing embeddings endpoint is reported here and lexical search goes on alone */
  onWarning?: (message: string) => void;
}

/** RRF's k: damps the weight of the very first ranks (60 in the paper). */
export const RRF_K = 60;

function ftsList(kb: KnowledgeBase, table: 'chunks_tri' | 'chunks_word', match: string | null, depth: number): number[] {
  if (!match) return [];
  const rows = kb.db.prepare(`SELECT rowid AS id FROM ${table} WHERE ${table} MATCH ? ORDER BY rank LIMIT ?`).all(match, depth) as { id: number }[];
  return rows.map((r) => r.id);
}

async function vectorList(kb: KnowledgeBase, query: string, embedder: Embedder, depth: number): Promise<number[]> {
  const [q] = await (embedder.embedQueries ? embedder.embedQueries([query]) : embedder.embed([query]));
  const qv = unit(q);
  const scored: [number, number][] = [];
  for (const r of kb.db.prepare('SELECT id, embedding FROM chunks WHERE embedding IS NOT NULL').iterate() as Iterable<{ id: number; embedding: Buffer }>) {
    const v = fromBlob(r.embedding);
    if (v.length !== qv.length) {
      throw new ShitateError('E_KB_EMBED', `knowledge base ${kb.name}: stored embeddings have ${v.length} dimensions, the query's ${qv.length}`,
        'the embedding model changed; re-create the knowledge base with one model');
    }
    let dot = 0;
    for (let i = 0; i < v.length; i++) dot += v[i] * qv[i];
    scored.push([r.id, dot]);
  }
  scored.sort((a, b) => b[1] - a[1]);
  return scored.slice(0, depth).map(([id]) => id);
}

/** The ranked id lists of each method for a query. */
export async function rankedLists(kb: KnowledgeBase, query: string, o: SearchOptions = {}): Promise<Partial<Record<Method, number[]>>> {
  const depth = o.depth ?? 50;
  const use = new Set(o.methods ?? METHODS);
  const terms = (await loadMorph()).queryTerms(query);
  const whole = normalize(query).replace(/[\s\p{P}]+/gu, '');
  // the whole query, when short, also counts as one phrase: an exact hit ranks first
  const phrases = [...new Set([...terms.phrases, ...(whole.length >= 3 && whole.length <= 24 ? [whole] : [])])];
  const lists: Partial<Record<Method, number[]>> = {};
  if (use.has('trigram')) lists.trigram = ftsList(kb, 'chunks_tri', anyOf(phrases), depth);
  if (use.has('word')) lists.word = ftsList(kb, 'chunks_word', anyOf(terms.words), depth);
  if (use.has('vector') && o.embedder && kb.embedSettings()) {
    try {
      lists.vector = await vectorList(kb, query, o.embedder, depth);
    } catch (e) {
      if (!(e instanceof ShitateError) || !o.onWarning) throw e;
      o.onWarning(`vector search skipped for ${kb.name}: ${e.message}`);
    }
  }
  return lists;
}

/** Reciprocal rank fusion: score(d) = sum over lists of 1 / (RRF_K + rank). */
export function fuse(lists: Partial<Record<Method, number[]>>): { id: number; score: number; ranks: Partial<Record<Method, number>> }[] {
  const acc = new Map<number, { id: number; score: number; ranks: Partial<Record<Method, number>> }>();
  for (const [m, ids] of Object.entries(lists) as [Method, number[]][]) {
    ids.forEach((id, i) => {
      const e = acc.get(id) ?? { id, score: 0, ranks: {} };
      e.score += 1 / (RRF_K + i + 1);
      e.ranks[m] = i + 1;
      acc.set(id, e);
    });
  }
  return [...acc.values()].sort((a, b) => b.score - a.score || a.id - b.id);
}

interface ChunkRow {
  id: number; doc: string; path: string; section: string; page_start: number | null; page_end: number | null;
  row_start: number | null; row_end: number | null; char_start: number; char_end: number; text: string;
}

export async function searchKb(kb: KnowledgeBase, query: string, o: SearchOptions = {}): Promise<Hit[]> {
  const fused = fuse(await rankedLists(kb, query, o)).slice(0, o.k ?? 5);
  const get = kb.db.prepare(`SELECT c.id, d.name AS doc, d.path, c.section, c.page_start, c.page_end, c.row_start, c.row_end, c.char_start,
    c.char_end, c.text FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id = ?`);
  return fused.map((f) => {
    const r = get.get(f.id) as ChunkRow;
    return {
      kb: kb.name, chunkId: r.id, doc: r.doc, path: r.path, section: r.section, pageStart: r.page_start, pageEnd: r.page_end,
      rowStart: r.row_start, rowEnd: r.row_end, charStart: r.char_start, charEnd: r.char_end, text: r.text, score: f.score, ranks: f.ranks,
    };
  });
}
