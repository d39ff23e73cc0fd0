// What an answer is grounded on: retrieved passages (or whole documents when the knowledge is small)
// numbered as sources with a citation each (file, page or section, rows), fitted into a token budget.
import type { Embedder } from '../providers/index.js';
import { createEmbedderFromSettings } from './ingest.js';
import { readKbSettings } from './kb-settings.js';
import { rewriterFromSettings } from './rewrite.js';
import { searchKb, type Hit, type QueryRewriter } from './search.js';
import type { KnowledgeBase } from './store.js';

export type KnowledgeMode = 'auto' | 'chunks' | 'whole';

export interface Source {
  n: number;
  kb: string;
  doc: string;
  /** "manual.pdf, p. 3", "faq.md § Returns > Deadline", "prices.xlsx § Sheet1, rows 4-6" */
  cite: string;
  text: string;
  /** the part of `text` a reply may quote (a FAQ entry's answer); absent: all of it */
  quote?: string;
  /** the whole document rather than a passage */
  whole: boolean;
}

export interface RetrieveOptions {
  k: number;
  mode: KnowledgeMode;
  /** in auto mode, whole documents are used while all of them together stay under this many characters */
  wholeMaxChars: number;
  budgetTokens: number;
  countTokens: (text: string) => number;
  /** the embedder for a knowledge base (default: the one it was set up with, if any) */
  embedderFor?: (kb: KnowledgeBase) => Embedder | null;
  /** told when vector search fails and lexical search is used alone */
  onWarning?: (message: string) => void;
  /** rewrites questions into the knowledge base's wording (both wordings are searched); default: the
   *  rewriter kb/NAME.yaml configures, if any; null: none */
  rewriter?: QueryRewriter | null;
}

const settingsEmbedder = (kb: KnowledgeBase): Embedder | null => {
  const s = kb.embedSettings();
  return s ? createEmbedderFromSettings(s) : null;
};

export function citation(h: Pick<Hit, 'doc' | 'section' | 'pageStart' | 'pageEnd' | 'rowStart' | 'rowEnd'>): string {
  const parts = [h.doc + (h.section ? ` § ${h.section}` : '')];
  if (h.pageStart !== null) parts.push(h.pageEnd !== null && h.pageEnd !== h.pageStart ? `pp. ${h.pageStart}-${h.pageEnd}` : `p. ${h.pageStart}`);
  if (h.rowStart !== null) parts.push(h.rowEnd !== null && h.rowEnd !== h.rowStart ? `rows ${h.rowStart}-${h.rowEnd}` : `row ${h.rowStart}`);
  return parts.join(', ');
}

function wholeDocuments(kbs: readonly KnowledgeBase[]): Omit<Source, 'n'>[] {
  const out: Omit<Source, 'n'>[] = [];
  for (const kb of kbs) {
    const rows = kb.db.prepare("SELECT name, text FROM documents WHERE status = 'indexed' OR (status = 'failed' AND sha256 IS NOT NULL) ORDER BY name")
      .all() as { name: string; text: string }[];
    for (const r of rows) out.push({ kb: kb.name, doc: r.name, cite: r.name, text: r.text, whole: true });
  }
  return out;
}

/** Cuts text to about `tokens` tokens (by halving), keeping its start. */
function cutTo(text: string, tokens: number, count: (t: string) => number): string {
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (count(text.slice(0, mid)) <= tokens) lo = mid;
    else hi = mid - 1;
  }
  return lo < text.length ? `${text.slice(0, lo)}…` : text;
}

/** Keeps sources in order while they fit the budget; the first one that does not fit is shortened. */
export function fitBudget(sources: Omit<Source, 'n'>[], budget: number, count: (t: string) => number): Source[] {
  const out: Source[] = [];
  let left = budget;
  for (const s of sources) {
    const cost = count(s.cite) + count(s.text) + 4;
    if (cost <= left) {
      out.push({ ...s, n: out.length + 1 });
      left -= cost;
      continue;
    }
    const room = left - count(s.cite) - 5;
    if (room >= 32) out.push({ ...s, n: out.length + 1, text: cutTo(s.text, room, count) });
    break;
  }
  return out;
}

export async function retrieve(kbs: readonly KnowledgeBase[], query: string, o: RetrieveOptions): Promise<Source[]> {
  if (kbs.length === 0) return [];
  const total = kbs.reduce((s, kb) => s + kb.stats().chars, 0);
  const whole = o.mode === 'whole' || (o.mode === 'auto' && total <= o.wholeMaxChars);
  const hits: Hit[] = [];
  for (const kb of kbs) {
    const k = whole ? 1000 : o.k;
    hits.push(...(await searchKb(kb, query, {
      k, embedder: (o.embedderFor ?? settingsEmbedder)(kb), ...(o.onWarning ? { onWarning: o.onWarning } : {}),
      rewriter: o.rewriter !== undefined ? o.rewriter : rewriterFromSettings(readKbSettings(kb.file)),
    })));
  }
  hits.sort((a, b) => b.score - a.score);
  if (whole) {
    // the most relevant documents first, so a tight budget cuts the least relevant
    const order = new Map<string, number>();
    hits.forEach((h, i) => order.has(`${h.kb}\0${h.doc}`) || order.set(`${h.kb}\0${h.doc}`, i));
    const rank = (s: Omit<Source, 'n'>) => order.get(`${s.kb}\0${s.doc}`) ?? Number.MAX_SAFE_INTEGER;
    const docs = wholeDocuments(kbs).sort((a, b) => rank(a) - rank(b));
    return fitBudget(docs, o.budgetTokens, o.countTokens);
  }
  const top = hits.slice(0, o.k).map((h) => ({ kb: h.kb, doc: h.doc, cite: citation(h), text: h.text, whole: false, ...(h.fields?.answer ? { quote: h.fields.answer } : {}) }));
  return fitBudget(top, o.budgetTokens, o.countTokens);
}

/** The sources as prompt text: a numbered list the model is asked to cite. */
export function formatSources(sources: readonly Source[]): string {
  return sources.map((s) => `[${s.n}] ${s.cite}\n${s.text}`).join('\n\n');
}
