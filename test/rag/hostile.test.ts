// Knowledge bases under hostile input: NUL bytes and broken UTF-16 never crash indexing or search (one bad
// file never stops a batch), several processes creating and filling one new knowledge base at once all
// succeed, and the files are readable by their owner only.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingest, KnowledgeBase, searchKb } from '../../src/rag/index.js';
import { MemoryStore } from '../../src/memory/index.js';
import { countControls } from '../../src/data/sanitize.js';
import { runQuiet } from '../cli/run-quiet.js';
import { tempDir } from '../helpers/tiny-model.js';
import { docxBomb, xlsxBomb } from '../helpers/zip-bomb.js';

describe('NUL bytes and control characters in documents', () => {
  it('kb add indexes a file with a NUL among Japanese text, and the rest of the batch, through the CLI', async () => {
    const dir = tempDir('shitate-kb-nul-');
    fs.writeFileSync(path.join(dir, 'n.txt'), Buffer.concat([Buffer.from('営業時間は'), Buffer.from([0]), Buffer.from('平日です\n')]));
    fs.writeFileSync(path.join(dir, 'bell.md'), '# 連絡\n\n電話\u0007番号は\u001b内線です。\n');
    fs.writeFileSync(path.join(dir, 'a.txt'), '返品は30日以内です。\n');
    fs.writeFileSync(path.join(dir, 'b.txt'), 'Parking is behind the building.\n');
    const home = path.join(dir, 'home');
    const files = ['n.txt', 'bell.md', 'a.txt', 'b.txt'].map((f) => path.join(dir, f));
    const r = await runQuiet(['kb', 'add', 't', ...files], { SHITATE_HOME: home });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/4 files: 4 indexed/);
    const kb = KnowledgeBase.open(home, 't', { create: false });
    try {
      const hits = await searchKb(kb, '平日', { k: 1 });
      expect(path.basename(hits[0].doc)).toBe('n.txt');
      expect(hits[0].text).toBe('営業時間は平日です'); // the NUL is gone from what is stored and cited
      const bell = (await searchKb(kb, '内線', { k: 1 }))[0];
      expect(bell.text).toBe('電話番号は内線です。');
      expect(countControls(bell.text).count).toBe(0);
    } finally {
      kb.close();
    }
  });

  it('search and memory take queries and facts with NUL and lone surrogates', async () => {
    const home = tempDir('shitate-kb-q-');
    const docs = path.join(home, 'docs');
    fs.mkdirSync(docs);
    fs.writeFileSync(path.join(docs, 'h.md'), '# 営業時間\n\n営業時間は平日の9時から18時です。\n');
    const kb = KnowledgeBase.open(home, 'q', { create: true });
    try {
      await ingest(kb, ['docs'], { cwd: home });
      for (const q of ['営業時間は\u0000?', '営業\ud800時間', '\udc00営業時間\u0000\u0000', '\u0000']) {
        const hits = await searchKb(kb, q, { k: 1 });
        if (q !== '\u0000') expect(hits[0]?.doc, JSON.stringify(q)).toBe('docs/h.md');
      }
    } finally {
      kb.close();
    }
    const mem = MemoryStore.open(home);
    try {
      const m = mem.forUser('alice', null).add('好きな色は\u0000青\ud800です');
      expect(m?.text).toBe('好きな色は青\ufffdです');
      expect(() => mem.forUser('al\u0000ice', null)).toThrow(/control characters/);
    } finally {
      mem.close();
    }
  });
});

describe('zip bombs', () => {
  it('kb add refuses DOCX and XLSX bombs with the numbers, before inflating them, and indexes the rest', async () => {
    const home = tempDir('shitate-kb-bomb-');
    const docs = path.join(home, 'docs');
    fs.mkdirSync(docs);
    fs.writeFileSync(path.join(docs, 'bomb.docx'), docxBomb(1024));
    fs.writeFileSync(path.join(docs, 'liar.docx'), docxBomb(1024, true));
    fs.writeFileSync(path.join(docs, 'bomb.xlsx'), xlsxBomb(1024));
    fs.writeFileSync(path.join(docs, 'ok.md'), '# 規則\n\n在宅勤務は週2日までです。\n');
    const kb = KnowledgeBase.open(home, 'b', { create: true });
    try {
      const r = await ingest(kb, ['docs'], { cwd: home, zipLimits: { maxBytes: 64 * 1024 * 1024, maxEntries: 1000 } });
      const by = Object.fromEntries(r.files.map((f) => [path.basename(f.file), f]));
      expect(by['ok.md'].status).toBe('indexed');
      expect(by['bomb.docx'].error).toMatch(/unpacks to 1\.0 GB, more than the limit of 64\.0 MB/);
      expect(by['bomb.xlsx'].error).toMatch(/unpacks to 1\.0 GB, more than the limit of 64\.0 MB/);
      expect(by['liar.docx'].error).toMatch(/unpacks to more than the limit of 64\.0 MB/);
      expect(by['bomb.docx'].hint).toMatch(/SHITATE_ZIP_MAX_MB=/);
    } finally {
      kb.close();
    }
  });
});

/** Starts `n` processes that each create knowledge base `name` and index their own file at the same moment. */
async function collide(home: string, dir: string, name: string, n: number): Promise<{ code: number | null; out: string }[]> {
  const go = path.join(dir, `${name}.go`);
  const files = Array.from({ length: n }, (_, i) => path.join(dir, `${name}-doc${i}.txt`));
  const done = files.map((file, i) => {
    fs.writeFileSync(file, `文書${i}: 営業時間は平日です。 document ${i}\n`);
    return new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'race-open.ts'), home, name, file, go],
        { cwd: path.join(import.meta.dirname, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
  });
  while (!files.every((f) => fs.existsSync(`${f}.ready`))) await new Promise((r) => setTimeout(r, 20));
  fs.writeFileSync(go, '');
  return Promise.all(done);
}

describe('concurrent writers', () => {
  it('five processes creating and filling the same new knowledge base at once all succeed', async () => {
    const dir = tempDir('shitate-kb-race-');
    const home = path.join(dir, 'home');
    for (const round of [1]) {
      const results = await collide(home, dir, `kb${round}`, 5);
      for (const r of results) {
        expect(r.out).not.toMatch(/SqliteError|already exists|SQLITE_BUSY/);
        expect(r.code, r.out).toBe(0);
        expect(r.out).toBe('{"added":1,"removed":0,"kept":0}');
      }
      const kb = KnowledgeBase.open(home, `kb${round}`, { create: false });
      try {
        expect(kb.stats()).toMatchObject({ documents: 5, failed: 0 });
      } finally {
        kb.close();
      }
    }
  }, 60_000);
});

describe('file permissions', () => {
  it.skipIf(process.platform === 'win32')('knowledge bases and memory are 0600 in a 0700 folder, and looser modes are tightened', async () => {
    const home = tempDir('shitate-kb-perm-');
    const kb = KnowledgeBase.open(home, 'p', { create: true });
    kb.close();
    const mem = MemoryStore.open(home);
    mem.forUser('bob', null).add('likes tea');
    mem.close();
    const mode = (p: string) => fs.statSync(p).mode & 0o777;
    expect(mode(path.join(home, 'kb'))).toBe(0o700);
    expect(mode(path.join(home, 'kb', 'p.sqlite'))).toBe(0o600);
    expect(mode(path.join(home, 'memory.sqlite'))).toBe(0o600);
    fs.chmodSync(path.join(home, 'memory.sqlite'), 0o644);
    fs.chmodSync(path.join(home, 'kb'), 0o755);
    MemoryStore.open(home).close();
    KnowledgeBase.open(home, 'p', { create: false }).close();
    expect(mode(path.join(home, 'memory.sqlite'))).toBe(0o600);
    expect(mode(path.join(home, 'kb'))).toBe(0o700);
  });
});
