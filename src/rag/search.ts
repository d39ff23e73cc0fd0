// Retrieval: BM25 over the trigram index and over the kuromoji word index (the query's words plus the words
// of its related-term groups), fielded BM25 over FAQ entries (faq-index.ts), and cosine similarity over
// embeddings when the knowledge base has them, fused by reciprocal rank (Cormack et al., SIGIR 2009). With a
// rewriter, the question is also searched in the wording a chat model gives it, and both rankings are fused.
import { ShitateError } from '../errors.js';
import type { Embedder } from '../providers/index.js';
import type { EntryFields } from './extract/index.js';
import { analyze } from './analyze.js';
import { faqIndexFor, searchSetup } from './faq-search.js';
import { unit } from './ingest.js';
import { anyOf, loadMorph, normalize, type Morph } from './morph.js';
import { fromBlob, type KnowledgeBase } from './store.js';
import { matchGroups, type CompiledGroup } from './synonyms.js';

export type Method = 'trigram' | 'word' | 'vector' | 'faq';
export const METHODS: readonly Method[] = ['trigram', 'word', 'vector', 'faq'];

/** Rewrites a question into the knowledge base's wording; `examples` are entries the first search found. */
export type QueryRewriter = (query: string, examples: readonly string[]) => Promise<string | null>;

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
  /** a FAQ entry's question and answer (null for passages) */
  fields: EntryFields | null;
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
  /** also search the question as this rewrites it (kb/NAME.yaml `rewrite`); a failing rewriter is a warning */
  rewriter?: QueryRewriter | null;
}

/** RRF's k: damps the weight of the very first ranks (60 in the paper). */
export const RRF_K = 60;

/** How much each list counts in the fusion: the FAQ ranking knows entries' fields, readings and related terms. */
export const FUSION_WEIGHTS: Record<Method, number> = { trigram: 1, word: 1, vector: 1, faq: 1 };

/** BM25 over one full-text index; `passagesOnly` leaves FAQ entries out (the FAQ ranking has them). */
function ftsList(kb: KnowledgeBase, table: 'chunks_tri' | 'chunks_word', match: string | null, depth: number, passagesOnly = false): number[] {
  if (!match) return [];
  const sql = passagesOnly
    ? `SELECT t.rowid AS id FROM ${table} t JOIN chunks c ON c.id = t.rowid WHERE ${table} MATCH ? AND c.fields IS NULL ORDER BY t.rank LIMIT ?`
    : `SELECT rowid AS id FROM ${table} WHERE ${table} MATCH ? ORDER BY rank LIMIT ?`;
  const rows = kb.db.prepare(sql).all(match, depth) as { id: number }[];
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

/** The words of the related-term groups a query matches, as the word index holds them: single-part members
 *  only (a member with parts, "代金 返る", is a pattern to recognise, not words to search), two characters or more. */
function expansion(m: Morph, groups: readonly CompiledGroup[], query: string): string[] {
  const out = new Set<string>();
  for (const i of matchGroups(groups, analyze(m, query))) {
    for (const member of groups[i].members) {
      if (member.length === 1) for (const w of m.queryTerms(member[0].folded).words) if ([...w].length >= 2) out.add(w);
    }
  }
  return [...out];
}

/** The ranked id lists of each method for a query. */
export async function rankedLists(kb: KnowledgeBase, query: string, o: SearchOptions = {}): Promise<Partial<Record<Method, number[]>>> {
  const depth = o.depth ?? 50;
  const use = new Set(o.methods ?? METHODS);
  const morph = await loadMorph();
  const terms = morph.queryTerms(query);
  const whole = normalize(query).replace(/[\s\p{P}]+/gu, '');
  // the whole query, when short, also counts as one phrase: an exact hit ranks first
  const phrases = [...new Set([...terms.phrases, ...(whole.length >= 3 && whole.length <= 24 ? [whole] : [])])];
  const lists: Partial<Record<Method, number[]>> = {};
  // FAQ entries are ranked by their own fielded ranking, which reads them better than passage BM25 does
  // (fused with it, recall@1 on paraphrased questions fell by 10-15 points); passages keep the text indexes
  const index = use.has('faq') ? faqIndexFor(kb, morph) : null;
  if (index) lists.faq = index.search(query, depth).map((h) => h.id);
  if (use.has('trigram')) lists.trigram = ftsList(kb, 'chunks_tri', anyOf(phrases), depth, index !== null);
  if (use.has('word')) {
    const words = [...new Set([...terms.words, ...expansion(morph, searchSetup(kb, morph).groups, query)])];
    lists.word = ftsList(kb, 'chunks_word', anyOf(words), depth, index !== null);
  }
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

export type Fused = { id: number; score: number; ranks: Partial<Record<Method, number>> };

/** Weighted reciprocal rank fusion: score(d) = sum over lists of weight / (RRF_K + rank). Several sets of
 *  lists (a question and its rewriting) add up; a hit's rank per method is its best one. */
export function fuse(lists: Partial<Record<Method, number[]>> | readonly Partial<Record<Method, number[]>>[],
  weights: Record<Method, number> = FUSION_WEIGHTS): Fused[] {
  const acc = new Map<number, Fused>();
  for (const set of Array.isArray(lists) ? lists : [lists]) {
    for (const [m, ids] of Object.entries(set) as [Method, number[]][]) {
      ids.forEach((id, i) => {
        const e = acc.get(id) ?? { id, score: 0, ranks: {} };
        e.score += weights[m] / (RRF_K + i + 1);
        e.ranks[m] = Math.min(e.ranks[m] ?? Infinity, i + 1);
        acc.set(id, e);
      });
    }
  }
  return [...acc.values()].sort((a, b) => b.score - a.score || a.id - b.id);
}

interface ChunkRow {
  id: number; doc: string; path: string; section: string; page_start: number | null; page_end: number | null;
  row_start: number | null; row_end: number | null; char_start: number; char_end: number; text: string; fields: string | null;
}

function hitsOf(kb: KnowledgeBase, fused: readonly Fused[]): Hit[] {
  const get = kb.db.prepare(`SELECT c.id, d.name AS doc, d.path, c.section, c.page_start, c.page_end, c.row_start, c.row_end, c.char_start,
    c.char_end, c.text, c.fields FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id = ?`);
  return fused.map((f) => {
    const r = get.get(f.id) as ChunkRow;
    return {
      kb: kb.name, chunkId: r.id, doc: r.doc, path: r.path, section: r.section, pageStart: r.page_start, pageEnd: r.page_end,
      rowStart: r.row_start, rowEnd: r.row_end, charStart: r.char_start, charEnd: r.char_end, text: r.text,
      fields: r.fields ? (JSON.parse(r.fields) as EntryFields) : null, score: f.score, ranks: f.ranks,
    };
  });
}

/** The question in the rewriter's wording, or null (no rewriter, the same text, or a failure told as a warning). */
async function rewritten(kb: KnowledgeBase, query: string, first: readonly Hit[], o: SearchOptions): Promise<string | null> {
  const rewrite = o.rewriter;
  if (!rewrite) return null;
  try {
    const r = ((await rewrite(query, first.map((h) => h.fields?.question || h.text))) ?? '').trim();
    return r && r !== query.trim() ? r : null;
  } catch (e) {
    if (!(e instanceof ShitateError) || !o.onWarning) throw e;
    o.onWarning(`query rewriting skipped for ${kb.name}: ${e.message}`);
    return null;
  }
}

export async function searchKb(kb: KnowledgeBase, query: string, o: SearchOptions = {}): Promise<Hit[]> {
  const k = o.k ?? 5;
  const lists = await rankedLists(kb, query, o);
  if (!o.rewriter) return hitsOf(kb, fuse(lists).slice(0, k));
  const again = await rewritten(kb, query, hitsOf(kb, fuse(lists).slice(0, 8)), o);
  return hitsOf(kb, fuse(again ? [lists, await rankedLists(kb, again, o)] : [lists]).slice(0, k));
}
