// A project folder with the sample FAQ (examples/faq/faq.csv, Shift_JIS) indexed as knowledge base "faq", and
// the bundled 512-token model: what a new user has after `shitate kb add faq examples/faq/faq.csv`.
import fs from 'node:fs';
import path from 'node:path';
import { citation, ingest, KnowledgeBase, searchKb } from '../../src/rag/index.js';
import { tempDir } from '../helpers/tiny-model.js';

export const ROOT = path.join(import.meta.dirname, '..', '..');
export const MINI = path.join(ROOT, 'models', 'shitate-mini');
export const FAQ_DIR = path.join(ROOT, 'examples', 'faq');

/** Questions from the sample FAQ's customers. */
export const QUESTIONS = ['送料はいくらですか？', '返品の手順を教えてください。', '使えるクレジットカードは？', '会員登録しなくても買えますか？',
  '注文をキャンセルしたい', 'ポイントの有効期限はありますか？', '領収書は発行できますか？'];

export async function faqHome(): Promise<string> {
  const home = tempDir('shitate-faq-home-');
  const kb = KnowledgeBase.open(home, 'faq', { create: true });
  try {
    await ingest(kb, ['faq.csv'], { cwd: FAQ_DIR });
  } finally {
    kb.close();
  }
  fs.mkdirSync(path.join(home, 'assistants'), { recursive: true });
  return home;
}

/** The best-ranked passage for a question, as an assistant's retrieval (top 5) ranks it. */
export async function bestPassage(home: string, question: string): Promise<{ cite: string; text: string }> {
  const kb = KnowledgeBase.open(home, 'faq', { create: false });
  try {
    const [top] = await searchKb(kb, question, { k: 5, embedder: null });
    return { cite: citation(top), text: top.text };
  } finally {
    kb.close();
  }
}
