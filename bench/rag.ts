// Retrieval quality and speed on the project's Japanese/English corpus (test/rag/corpus): recall@1, @k and
// MRR for each index alone and fused, against plain trigram BM25 measured in the same run.
// Run: npm run bench:rag [-- --k 5 --misses] [-- --embed-url URL --embed-model NAME]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createEmbedder, type Embedder } from '../src/providers/index.js';
import { answers, ingest, KnowledgeBase, loadMorph, searchKb, type Method, type Question, type SearchOptions } from '../src/rag/index.js';

const USAGE = `bench/rag.ts: recall@k of the knowledge-base search on a corpus with known answers

  --corpus DIR        documents plus questions.json (default test/rag/corpus)
  --k N               recall cut-off (default 5)
  --chunk-chars N     passage length (default 600)   --overlap N (default 100)
  --embed-url URL     OpenAI-compatible embeddings endpoint for the vector rows (default: hashed character
  --embed-model NAME  bigrams computed in-process, a lexical stand-in that shows the fusion only)
  --embed-key-env VAR
  --misses            list the questions each configuration misses`;

const { values: f } = parseArgs({
  options: {
    corpus: { type: 'string' }, k: { type: 'string' }, 'chunk-chars': { type: 'string' }, overlap: { type: 'string' },
    'embed-url': { type: 'string' }, 'embed-model': { type: 'string' }, 'embed-key-env': { type: 'string' }, misses: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (f.help) {
  console.log(USAGE);
  process.exit(0);
}
const corpus = path.resolve(f.corpus ?? path.join(import.meta.dirname, '..', 'test', 'rag', 'corpus'));
const K = Number(f.k ?? 5);
const chunking = { maxChars: Number(f['chunk-chars'] ?? 600), overlap: Number(f.overlap ?? 100) };

/** 256-dim hashed character bigrams, L2-normalised at search time: similar wording, similar vectors. */
function bigramEmbedder(): Embedder {
  return {
    model: 'hashed-bigrams-256',
    async embed(texts) {
      return texts.map((t) => {
        const v = new Float32Array(256);
        const s = t.normalize('NFKC').toLowerCase();
        for (let i = 0; i + 1 < s.length; i++) {
          let h = 2166136261;
          for (const c of s.slice(i, i + 2)) h = Math.imul(h ^ (c.codePointAt(0) ?? 0), 16777619);
          v[(h >>> 0) % 256] += 1;
        }
        return v;
      });
    },
  };
}

const embedder: Embedder = f['embed-url'] && f['embed-model']
  ? createEmbedder({ url: f['embed-url'], model: f['embed-model'], ...(f['embed-key-env'] ? { keyEnv: f['embed-key-env'] } : {}) })
  : bigramEmbedder();

interface Row { name: string; r1: number; rk: number; mrr: number; byLang: Record<string, number>; msPerQuery: number; misses: string[] }

async function evaluate(kb: KnowledgeBase, qs: Question[], name: string, o: SearchOptions): Promise<Row> {
  let r1 = 0;
  let rk = 0;
  let mrr = 0;
  const lang: Record<string, [number, number]> = {};
  const misses: string[] = [];
  const t0 = performance.now();
  for (const q of qs) {
    const hits = await searchKb(kb, q.question, { ...o, k: Math.max(K, 10) });
    const at = hits.findIndex((h) => answers(h, q.expect));
    const l = (lang[q.lang ?? '?'] ??= [0, 0]);
    l[1]++;
    if (at === 0) r1++;
    if (at >= 0 && at < K) {
      rk++;
      l[0]++;
    } else misses.push(`${q.question}  → ${hits[0] ? `${path.basename(hits[0].path)}: ${hits[0].text.replace(/\s+/g, ' ').slice(0, 50)}` : '(nothing)'}`);
    if (at >= 0) mrr += 1 / (at + 1);
  }
  const n = qs.length;
  return {
    name, r1: r1 / n, rk: rk / n, mrr: mrr / n, msPerQuery: (performance.now() - t0) / n, misses,
    byLang: Object.fromEntries(Object.entries(lang).map(([k, [h, c]]) => [k, h / c])),
  };
}

const questions = (JSON.parse(fs.readFileSync(path.join(corpus, 'questions.json'), 'utf8')) as { questions: Question[] }).questions;
const files = fs.readdirSync(corpus).filter((x) => x !== 'questions.json').sort();
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-bench-rag-'));
try {
  let t = performance.now();
  await loadMorph();
  const morphMs = performance.now() - t;
  const kb = KnowledgeBase.open(home, 'bench', { create: true });
  kb.setMeta('embed', JSON.stringify({ url: f['embed-url'] ?? 'in-process', model: embedder.model }));
  t = performance.now();
  const rep = await ingest(kb, files, { cwd: corpus, chunking, embedder });
  const ingestMs = performance.now() - t;
  const failed = rep.files.filter((x) => x.status === 'failed');
  if (failed.length) throw new Error(`corpus files failed: ${failed.map((x) => `${x.file}: ${x.error}`).join('; ')}`);
  if (rep.embedError) throw new Error(rep.embedError);
  const st = kb.stats();
  console.log(`corpus ${corpus}: ${files.length} files, ${st.chunks} passages, ${(st.chars / 1000).toFixed(1)}k characters; ${questions.length} questions`);
  console.log(`dictionary load ${morphMs.toFixed(0)} ms; indexing ${ingestMs.toFixed(0)} ms (embeddings: ${embedder.model}); chunks ${chunking.maxChars}/${chunking.overlap}\n`);

  const configs: [string, Method[]][] = [
    ['trigram (baseline)', ['trigram']], ['word (kuromoji)', ['word']], ['vector', ['vector']],
    ['trigram + word', ['trigram', 'word']], ['trigram + word + vector', ['trigram', 'word', 'vector']],
  ];
  const rows: Row[] = [];
  for (const [name, methods] of configs) rows.push(await evaluate(kb, questions, name, { methods, embedder }));
  const langs = Object.keys(rows[0].byLang).sort();
  const base = rows[0];
  const pad = (s: string, n: number) => s.padEnd(n);
  console.log(`${pad('method', 26)}${pad('recall@1', 10)}${pad(`recall@${K}`, 10)}${pad('MRR', 8)}${langs.map((l) => pad(`@${K} ${l}`, 9)).join('')}${pad('ms/query', 10)}vs baseline @${K}`);
  for (const r of rows) {
    console.log(`${pad(r.name, 26)}${pad(r.r1.toFixed(3), 10)}${pad(r.rk.toFixed(3), 10)}${pad(r.mrr.toFixed(3), 8)}` +
      `${langs.map((l) => pad((r.byLang[l] ?? 0).toFixed(3), 9)).join('')}${pad(r.msPerQuery.toFixed(2), 10)}${(r.rk / base.rk).toFixed(2)}x`);
  }
  if (f.misses) {
    for (const r of rows) {
      console.log(`\n${r.name}: ${r.misses.length} missed`);
      for (const m of r.misses) console.log(`  ${m}`);
    }
  }
  kb.close();
} finally {
  fs.rmSync(home, { recursive: true, force: true });
}
