// Ingestion: every file gets a status; a corrupt PDF, an empty file and a 50 MB file fail with clear
// reasons while the rest is indexed; re-adding a changed file touches only the chunks that changed.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, KnowledgeBase, searchKb, type IngestEvent } from '../../src/rag/index.js';
import type { Embedder } from '../../src/providers/index.js';
import { tempDir } from '../helpers/tiny-model.js';
import { makeDocx, makePdf } from './make-files.js';

let home: string;
let docs: string;
beforeAll(() => {
  home = tempDir('shitate-kb-');
  docs = path.join(home, 'docs');
  fs.mkdirSync(docs);
});
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

const write = (name: string, data: string | Buffer): string => {
  fs.writeFileSync(path.join(docs, name), data);
  return name;
};

describe('kb add with bad files among good ones', () => {
  it('reports each bad file with its reason and indexes the rest', async () => {
    const good = [
      write('manual.pdf', makePdf([['Warranty terms'], ['Torque wrenches are covered for three years.']])),
      write('rules.docx', makeDocx(['# 就業規則', '## 在宅勤務', '在宅勤務は週に2日まで認めます。'])),
      write('notes.md', '# Notes\n\nThe cafeteria opens at 11:30.\n'),
    ];
    write('broken.pdf', makePdf([['x']]).subarray(0, 80));
    write('empty.txt', '');
    write('huge.txt', Buffer.alloc(50 * 1024 * 1024, 'filler text '));
    write('tool.exe', 'MZ');
    const events: IngestEvent[] = [];
    const kb = KnowledgeBase.open(home, 'mixed', { create: true });
    const r = await ingest(kb, ['docs'], { cwd: home, onEvent: (e) => events.push(e) });
    const by = Object.fromEntries(r.files.map((f) => [path.basename(f.file), f]));
    for (const g of good) expect(by[g].status, g).toBe('indexed');
    expect(by['broken.pdf']).toMatchObject({ status: 'failed' });
    expect(by['broken.pdf'].error).toMatch(/PDF/);
    expect(by['empty.txt'].error).toMatch(/empty/);
    expect(by['huge.txt'].error).toMatch(/expected at most 20\.0 MB, found 50\.0 MB/);
    expect(by['huge.txt'].hint).toMatch(/--max-mb/);
    for (const bad of ['broken.pdf', 'empty.txt', 'huge.txt']) expect(by[bad].hint, bad).toBeTruthy();
    expect(r.skipped.map((s) => path.basename(s))).toEqual(['tool.exe']); // inside a folder: skipped, and said so
    // progress: a start and a done event per file, in order
    expect(events.filter((e) => e.type === 'file-done').length).toBe(r.files.length);
    // failures are stored with their reasons, never left half-done
    const rows = kb.documents();
    expect(rows.filter((d) => d.status === 'failed').map((d) => path.basename(d.path)).sort()).toEqual(['broken.pdf', 'empty.txt', 'huge.txt']);
    expect(rows.every((d) => d.status === 'indexed' || d.error)).toBe(true);
    // the good ones are searchable, with page citations from the PDF
    const hits = await searchKb(kb, 'torque wrench three years', { k: 3 });
    expect(hits[0].doc).toBe('docs/manual.pdf');
    expect(hits[0].pageStart).toBe(2);
    expect((await searchKb(kb, '在宅', { k: 1 }))[0].doc).toBe('docs/rules.docx');
    kb.close();
  });

  it('names a file given explicitly with an unsupported extension as failed', async () => {
    const kb = KnowledgeBase.open(home, 'explicit', { create: true });
    const r = await ingest(kb, ['docs/tool.exe', 'docs/notes.md', 'docs/missing.txt'], { cwd: home });
    expect(r.files.map((f) => f.status)).toEqual(['failed', 'indexed', 'failed']);
    expect(r.files[0].error).toContain('.docx');
    expect(r.files[2].error).toContain('nothing at this path');
    kb.close();
  });
});

describe('re-adding files', () => {
  function countingEmbedder(): Embedder & { texts: string[] } {
    const texts: string[] = [];
    return { model: 'count', texts, async embed(xs) {
      texts.push(...xs);
      return xs.map((x) => Float32Array.from([x.length, 1, 0.5]));
    } };
  }

  it('skips unchanged files and re-indexes only the chunks that changed', async () => {
    const sections = Array.from({ length: 6 }, (_, i) => `## Section ${i}\n\nParagraph ${i} says something particular about topic ${i}.\n`);
    write('guide.md', `# Guide\n\n${sections.join('\n')}`);
    const kb = KnowledgeBase.open(home, 'incremental', { create: true });
    kb.setMeta('embed', JSON.stringify({ url: 'http://127.0.0.1:1', model: 'count' }));
    const emb = countingEmbedder();
    const first = await ingest(kb, ['docs/guide.md'], { cwd: home, embedder: emb });
    expect(first.files[0]).toMatchObject({ status: 'indexed', added: 6 });
    expect(emb.texts.length).toBe(6);

    const again = await ingest(kb, ['docs/guide.md'], { cwd: home, embedder: emb });
    expect(again.files[0].status).toBe('unchanged');
    expect(emb.texts.length).toBe(6);

    sections[3] = '## Section 3\n\nThis paragraph was rewritten with new facts about warranty.\n';
    write('guide.md', `# Guide\n\n${sections.join('\n')}`);
    const changed = await ingest(kb, ['docs/guide.md'], { cwd: home, embedder: emb });
    expect(changed.files[0]).toMatchObject({ status: 'updated', added: 1, removed: 1, kept: 5 });
    expect(emb.texts.length).toBe(7); // only the new chunk was embedded
    expect(emb.texts[6]).toContain('rewritten');
    expect(kb.stats().chunks).toBe(6);
    expect((await searchKb(kb, 'rewritten warranty', { k: 1 }))[0].text).toContain('rewritten');
    expect(await searchKb(kb, 'particular topic 3', { k: 6 })).not.toContainEqual(expect.objectContaining({ text: expect.stringContaining('topic 3') }));
    kb.close();
  });

  it('keeps the last good version searchable when a file turns bad, and says so', async () => {
    write('policy.pdf', makePdf([['Laptops lock after five minutes.']]));
    const kb = KnowledgeBase.open(home, 'regress', { create: true });
    await ingest(kb, ['docs/policy.pdf'], { cwd: home });
    write('policy.pdf', Buffer.from('%PDF-1.4 truncated'));
    const r = await ingest(kb, ['docs/policy.pdf'], { cwd: home });
    expect(r.files[0].status).toBe('failed');
    expect(kb.documents()[0]).toMatchObject({ status: 'failed', chunks: 1 });
    expect((await searchKb(kb, 'laptops lock', { k: 1 })).length).toBe(1);
    kb.close();
  });

  it('removes a document with its chunks', async () => {
    const kb = KnowledgeBase.open(home, 'explicit', { create: false });
    expect(kb.removeDocument(path.join(home, 'docs/notes.md'))).toBe(true);
    expect(kb.stats().chunks).toBe(0);
    expect(await searchKb(kb, 'cafeteria', { k: 3 })).toEqual([]);
    kb.close();
  });
});
