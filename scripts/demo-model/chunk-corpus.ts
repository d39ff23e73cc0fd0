// Cuts the extracted documents into pre-training records of at most `maxTokens` tokens, at paragraph
// (then sentence, then character) boundaries, so no record is truncated and little context is wasted.
import fs from 'node:fs';
import type { Tokenizer } from '../../src/tokenizer/index.js';

export interface ChunkStats {
  /** records and tokens written, repeats included */
  records: number;
  tokens: number;
  /** per source: distinct records, tokens and characters kept, and how often each record was written */
  bySource: Record<string, { lang: string; records: number; tokens: number; chars: number; weight: number }>;
}

/** Splits a paragraph that alone exceeds the budget: at sentence ends, then at fixed character counts. */
function splitLong(p: string, tok: Tokenizer, maxTokens: number): string[] {
  const sentences = p.match(/[^。．.!?！？\n]+[。．.!?！？]*\s*/g) ?? [p];
  const out: string[] = [];
  for (const s of sentences) {
    if (tok.encode(s).length <= maxTokens) {
      out.push(s);
      continue;
    }
    const cps = [...s];
    const step = Math.max(1, Math.floor(maxTokens / 2)); // bytes fallback: at most 4 tokens a character, usually one
    for (let i = 0; i < cps.length; i += step) out.push(cps.slice(i, i + step).join(''));
  }
  return out.flatMap((s) => (tok.encode(s).length <= maxTokens ? [s] : [...s])); // last resort: one character each
}

/** Greedy packing of one document's paragraphs into pieces of at most maxTokens tokens (newline-joined). */
export function chunkDocument(text: string, tok: Tokenizer, maxTokens: number): string[] {
  const pieces: string[] = [];
  let cur: string[] = [];
  let used = 0;
  const flush = () => {
    if (cur.length) pieces.push(cur.join('\n'));
    cur = [];
    used = 0;
  };
  for (const para of text.split('\n')) {
    const n = tok.encode(para).length + 1; // + the newline joining it
    const parts = n > maxTokens ? splitLong(para, tok, maxTokens - 1) : [para];
    for (const part of parts) {
      const m = parts.length === 1 ? n : tok.encode(part).length + 1;
      if (used + m > maxTokens) flush();
      cur.push(part);
      used += m;
    }
  }
  flush();
  return pieces;
}

/**
 * Reads corpus.jsonl ({"source","lang","text"} per document), writes {"text"} records; returns counts.
 * `weights` balances the languages: 2 writes each record twice, 0.5 keeps every second record.
 */
export function chunkCorpus(corpusFile: string, outFile: string, tok: Tokenizer, maxTokens: number, weights: Record<string, number>): ChunkStats {
  const stats: ChunkStats = { records: 0, tokens: 0, bySource: {} };
  const out = fs.openSync(outFile, 'w');
  let seen = 0;
  for (const line of fs.readFileSync(corpusFile, 'utf8').split('\n')) {
    if (!line) continue;
    const doc = JSON.parse(line) as { source: string; lang: string; text: string };
    const weight = weights[doc.lang] ?? 1;
    const s = (stats.bySource[doc.source] ??= { lang: doc.lang, records: 0, tokens: 0, chars: 0, weight });
    for (const piece of chunkDocument(doc.text, tok, maxTokens)) {
      seen++;
      const copies = weight >= 1 ? Math.round(weight) : seen % Math.round(1 / weight) === 0 ? 1 : 0;
      if (copies === 0) continue;
      const n = tok.encode(piece).length;
      s.records++;
      s.tokens += n;
      s.chars += [...piece].length;
      for (let c = 0; c < copies; c++) fs.writeSync(out, JSON.stringify({ text: piece }) + '\n');
      stats.records += copies;
      stats.tokens += n * copies;
    }
  }
  fs.closeSync(out);
  return stats;
}
