// `shitate embed` in process: JSONL vectors equal to the library's, query prompts, --file, the similarity table,
// and usage errors.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runQuiet } from '../cli/run-quiet.js';
import { SentenceEmbedder } from '../../src/models/sentence-embedder.js';
import { tinyEncoderDir } from '../helpers/tiny-encoder.js';
import { tempDir } from '../helpers/tiny-model.js';

const dir = () => tinyEncoderDir({ arch: 'bert', sentence: { pooling: 'cls', normalize: true, prompts: { query: 'query: ', passage: 'passage: ' } } });

describe('shitate embed', () => {
  it('writes one JSONL record per text, as the library embeds it with the query prompt', async () => {
    const out = path.join(tempDir(), 'v.jsonl');
    const r = await runQuiet(['embed', '--model', dir(), '--query', '--out', out, '送料はいくら？', '返品できますか']);
    expect(r.code, r.stderr).toBe(0);
    const rows = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { index: number; text: string; embedding: number[] });
    const want = new SentenceEmbedder(dir()).embed(['送料はいくら？', '返品できますか'], 'query').vectors;
    expect(rows.map((x) => x.text)).toEqual(['送料はいくら？', '返品できますか']);
    rows.forEach((x, i) => x.embedding.forEach((v, j) => expect(Math.abs(v - want[i][j])).toBeLessThan(1e-6)));
    expect(r.stderr).toMatch(/2 embeddings of 32 dimensions \(cls pooling, normalized/);
  });

  it('reads --file (text lines or JSONL) and prints cosine similarities', async () => {
    const d = tempDir();
    fs.writeFileSync(path.join(d, 'q.jsonl'), '{"text": "送料"}\n{"text": "送料"}\n');
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((c: string) => { out += c; return true; }) as typeof process.stdout.write;
    try {
      expect((await runQuiet(['embed', '-m', dir(), '--file', path.join(d, 'q.jsonl'), '--similarity'])).code).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(out).toMatch(/\[1\]\s+1\.000\s+1\.000/);
  });

  it('says what is missing', async () => {
    expect((await runQuiet(['embed', 'x'])).stderr).toMatch(/expected --model DIR/);
    expect((await runQuiet(['embed', '-m', dir()])).stderr).toMatch(/expected texts/);
    expect((await runQuiet(['embed', '-m', dir(), '--query', '--passage', 'x'])).code).toBe(2);
  });
});
