// Retrieval over the project corpus: recall@5 above a floor for Japanese and English questions, short
// Japanese queries found through the word index, embeddings from an HTTP endpoint fused by rank, and
// grounded context with citations, whole-document mode and a token budget.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { citation, createEmbedderFromSettings, fitBudget, KnowledgeBase, rankedLists, recallAtK, retrieve, searchKb } from '../../src/rag/index.js';
import { estimateTokens } from '../../src/providers/index.js';
import { tempDir } from '../helpers/tiny-model.js';
import { openaiCompatible, startServer, type FakeServer } from '../providers/fake-server.js';
import { corpusQuestions, indexCorpus } from './corpus.js';

/** recall@5 the fused lexical search must reach on the corpus (it measures higher; see bench/rag.ts) */
const RECALL_FLOOR = 0.9;

let home: string;
let kb: KnowledgeBase;
let server: FakeServer;
beforeAll(async () => {
  home = tempDir('shitate-search-');
  kb = await indexCorpus(home, 'corpus');
  server = await startServer(openaiCompatible());
});
afterAll(async () => {
  kb.close();
  await server.close();
});

describe('recall on the project corpus', () => {
  it(`finds the expected passage in the top 5 for at least ${RECALL_FLOOR * 100}% of questions, in each language`, async () => {
    const r = await recallAtK(kb, corpusQuestions(), 5);
    expect(r.recall).toBeGreaterThanOrEqual(RECALL_FLOOR);
    for (const [lang, v] of Object.entries(r.byLang)) expect(v.recall, lang).toBeGreaterThanOrEqual(RECALL_FLOOR);
  });

  it('finds one- and two-word Japanese queries that a trigram index alone cannot', async () => {
    const short = corpusQuestions().filter((q) => q.lang === 'ja' && [...q.question].length <= 2);
    expect(short.length).toBeGreaterThan(2);
    const fused = await recallAtK(kb, short, 5);
    const trigramOnly = await recallAtK(kb, short, 5, { methods: ['trigram'] });
    expect(fused.recall).toBe(1);
    expect(trigramOnly.recall).toBeLessThan(fused.recall);
  });

  it('never reads a query as FTS syntax', async () => {
    for (const q of ['"', 'AND OR NOT', 'a* NEAR(b c)', '(((', "'; DROP TABLE chunks; --"]) await expect(searchKb(kb, q)).resolves.toBeInstanceOf(Array);
  });
});

describe('embeddings fused with BM25', () => {
  it('adds a vector list from an embeddings endpoint and keeps recall', async () => {
    const settings = { url: `${server.url}/v1`, model: 'bigram-64' };
    const emb = createEmbedderFromSettings(settings);
    const vkb = await indexCorpus(tempDir('shitate-vec-'), 'vec', emb, settings.url);
    expect(vkb.unembedded().length).toBe(0);
    const lists = await rankedLists(vkb, '返品の期限', { embedder: emb });
    expect(lists.vector?.length).toBeGreaterThan(0);
    const hits = await searchKb(vkb, '返品の期限', { embedder: emb, k: 3 });
    expect(hits.some((h) => h.ranks.vector !== undefined)).toBe(true);
    expect((await recallAtK(vkb, corpusQuestions(), 5, { embedder: emb })).recall).toBeGreaterThanOrEqual(RECALL_FLOOR);
    expect(server.requests.some((r) => r.path === '/v1/embeddings')).toBe(true);
    vkb.close();
  });
});

describe('grounded context', () => {
  const count = estimateTokens;

  it('cites file, section, page and rows', () => {
    const base = { doc: 'a.pdf', section: '', pageStart: null, pageEnd: null, rowStart: null, rowEnd: null };
    expect(citation({ ...base, pageStart: 3, pageEnd: 3 })).toBe('a.pdf, p. 3');
    expect(citation({ ...base, pageStart: 3, pageEnd: 4 })).toBe('a.pdf, pp. 3-4');
    expect(citation({ ...base, doc: 'faq.md', section: '返品 > 期限' })).toBe('faq.md § 返品 > 期限');
    expect(citation({ ...base, doc: 'p.xlsx', section: 'Sheet1', rowStart: 4, rowEnd: 6 })).toBe('p.xlsx § Sheet1, rows 4-6');
  });

  it('retrieves numbered passages with citations in chunk mode', async () => {
    const s = await retrieve([kb], '返品の期限は何日ですか', { k: 3, mode: 'chunks', wholeMaxChars: 0, budgetTokens: 2000, countTokens: count });
    expect(s.map((x) => x.n)).toEqual([1, 2, 3]);
    const answer = s.find((x) => x.text.includes('30日以内'));
    expect(answer?.cite).toBe('returns.html § 返品・交換ポリシー > 返品の受付期間');
    expect(s.every((x) => !x.whole)).toBe(true);
  });

  it('uses whole documents when the knowledge is small (auto mode)', async () => {
    const total = kb.stats().chars;
    const s = await retrieve([kb], '返品の送料', { k: 3, mode: 'auto', wholeMaxChars: total, budgetTokens: 100_000, countTokens: count });
    expect(s.length).toBe(kb.stats().documents);
    expect(s.every((x) => x.whole)).toBe(true);
    expect(s[0].doc).toBe('returns.html'); // the most relevant document first
    expect(s[0].text).toContain('返送料はお客様のご負担');
    const chunks = await retrieve([kb], '返品', { k: 3, mode: 'auto', wholeMaxChars: total - 1, budgetTokens: 100_000, countTokens: count });
    expect(chunks.every((x) => !x.whole)).toBe(true);
  });

  it('never exceeds the token budget', async () => {
    for (const budget of [40, 120, 600]) {
      const s = await retrieve([kb], 'warranty repair calibration', { k: 5, mode: 'whole', wholeMaxChars: 0, budgetTokens: budget, countTokens: count });
      const used = s.reduce((a, x) => a + count(x.cite) + count(x.text) + 4, 0);
      expect(used, String(budget)).toBeLessThanOrEqual(budget);
    }
    const cut = fitBudget([{ kb: 'k', doc: 'd', cite: 'd', text: 'x'.repeat(4000), whole: true }], 100, count);
    expect(cut[0].text.endsWith('…')).toBe(true);
  });
});
