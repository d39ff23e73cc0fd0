// The project's retrieval corpus (Japanese and English company documents with known answers), indexed
// once into a knowledge base in a temp folder.
import fs from 'node:fs';
import path from 'node:path';
import { ingest, KnowledgeBase, type Question } from '../../src/rag/index.js';
import type { Embedder } from '../../src/providers/index.js';

export const CORPUS_DIR = path.join(import.meta.dirname, 'corpus');

export function corpusFiles(): string[] {
  return fs.readdirSync(CORPUS_DIR).filter((f) => f !== 'questions.json').sort();
}

export function corpusQuestions(): Question[] {
  return (JSON.parse(fs.readFileSync(path.join(CORPUS_DIR, 'questions.json'), 'utf8')) as { questions: Question[] }).questions;
}

export async function indexCorpus(home: string, name: string, embedder: Embedder | null = null, embedUrl = ''): Promise<KnowledgeBase> {
  const kb = KnowledgeBase.open(home, name, { create: true });
  if (embedder) kb.setMeta('embed', JSON.stringify({ url: embedUrl, model: embedder.model }));
  const r = await ingest(kb, corpusFiles(), { cwd: CORPUS_DIR, embedder });
  const failed = r.files.filter((f) => f.status === 'failed');
  if (failed.length) throw new Error(`corpus files failed: ${failed.map((f) => `${f.file}: ${f.error}`).join('; ')}`);
  return kb;
}
