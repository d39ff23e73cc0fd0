// `kb add --embed-model DIR` with a local encoder: every passage embedded here (no endpoint) with the model's
// passage prompt, questions with its query prompt, the vector ranking fused with BM25 in `kb search`, and a
// knowledge base that keeps its model.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runQuiet } from '../cli/run-quiet.js';
import { KnowledgeBase, searchKb, createEmbedderFromSettings } from '../../src/rag/index.js';
import { fromBlob } from '../../src/rag/store.js';
import { SentenceEmbedder } from '../../src/models/sentence-embedder.js';
import { tinyEncoderDir } from '../helpers/tiny-encoder.js';
import { tempDir } from '../helpers/tiny-model.js';

const FAQ = path.join(import.meta.dirname, '..', '..', 'examples', 'faq', 'faq.csv');

describe('kb add --embed-model DIR (local encoder)', () => {
  it('embeds passages and questions locally with the model\'s prompts and fuses the vector ranking with BM25', async () => {
    const home = tempDir();
    const model = tinyEncoderDir({ arch: 'xlm-roberta', name: 'multilingual-e5-tiny', sentence: { pooling: 'mean', normalize: true } });
    const r = await runQuiet(['kb', 'add', 'faq', FAQ, '--embed-model', model], { SHITATE_HOME: home });
    expect(r.code, r.stderr).toBe(0);
    const kb = KnowledgeBase.open(home, 'faq', { create: false });
    try {
      const s = kb.embedSettings()!;
      expect(s).toMatchObject({ url: '', model: 'multilingual-e5-tiny', local: model });
      expect(kb.unembedded()).toEqual([]);
      const e = new SentenceEmbedder(model);
      const row = kb.db.prepare('SELECT text, section, embedding FROM chunks LIMIT 1').get() as { text: string; section: string; embedding: Buffer };
      const want = e.embed([row.section ? `${row.section}\n${row.text}` : row.text], 'passage').vectors[0];
      const got = fromBlob(row.embedding);
      expect(Math.max(...got.map((x, i) => Math.abs(x - want[i])))).toBeLessThan(1e-5);
      // the vector list ranks passages by cosine to the question embedded with "query: "
      const q = '郵送代はいくら？';
      const hits = await searchKb(kb, q, { k: 3, methods: ['vector'], embedder: createEmbedderFromSettings(s) });
      const qv = e.embed([q], 'query').vectors[0];
      const all = kb.db.prepare('SELECT id, embedding FROM chunks').all() as { id: number; embedding: Buffer }[];
      const best = all.map((c) => ({ id: c.id, s: fromBlob(c.embedding).reduce((a, x, i) => a + x * qv[i], 0) })).sort((a, b) => b.s - a.s)[0];
      expect(hits[0].chunkId).toBe(best.id);
      // fused: the vector list is one of the rankings; a passage both lists found ranks by both
      const fused = await searchKb(kb, '送料はいくらですか', { k: 50, methods: ['vector', 'word', 'trigram'], embedder: createEmbedderFromSettings(s) });
      expect(fused.some((h) => h.ranks.vector !== undefined && (h.ranks.word !== undefined || h.ranks.trigram !== undefined))).toBe(true);
    } finally {
      kb.close();
    }
    const other = tempDir();
    fs.cpSync(model, other, { recursive: true });
    const again = await runQuiet(['kb', 'add', 'faq', FAQ, '--embed-model', other], { SHITATE_HOME: home });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/built with embedding model/);
  });

  it('refuses --embed-model that is neither a folder nor paired with --embed-url', async () => {
    const r = await runQuiet(['kb', 'add', 'x', FAQ, '--embed-model', 'nomic-embed-text'], { SHITATE_HOME: tempDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/local encoder folder/);
  });
});
