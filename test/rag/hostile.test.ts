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
import { runCli } from '../cli/run-cli.js';
import { tempDir } from '../helpers/tiny-model.js';

describe('NUL bytes and control characters in documents', () => {
  it('kb add indexes a file with a NUL among Japanese text, and the rest of the batch, through the CLI', async () => {
    const dir = tempDir('shitate-kb-nul-');
    fs.writeFileSync(path.join(dir, 'n.txt'), Buffer.concat([Buffer.from('営業時間は'), Buffer.from([0]), Buffer.from('平日です\n')]));
    fs.writeFileSync(path.join(dir, 'bell.md'), '# 連絡\n\n電話\u0007番号は\u001b内線です。\n');
    fs.writeFileSync(path.join(dir, 'a.txt'), '返品は30日以内です。\n');
    fs.writeFileSync(path.join(dir, 'b.txt'), 'Parking is behind the building.\n');
    const home = path.join(dir, 'home');
    const files = ['n.txt', 'bell.md', 'a.txt', 'b.txt'].map((f) => path.join(dir, f));
    const r = await runCli(['kb', 'add', 't', ...files], { env: { SHITATE_HOME: home } });
    expect(r.stderr).not.toMatch(/TypeError|at .*\.js:\d+/);
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

/** Starts `n` processes that each create knowledge base `name` and index their own file at the same moment. */
async function collide(home: string, dir: string, name: string, n: number): Promise<{ code: number | null; out: string }[]> {
  const startAt = Date.now() + 4000; // time for every child to load before the shared start
  return Promise.all(Array.from({ length: n }, (_, i) => {
    const file = path.join(dir, `doc${i}.txt`);
    fs.writeFileSync(file, `文書${i}: 営業時間は平日です。 document ${i}\n`);
    return new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'race-open.ts'), home, name, file, String(startAt)],
        { cwd: path.join(import.meta.dirname, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
  }));
}

describe('concurrent writers', () => {
  it('four processes creating and filling the same new knowledge base all succeed', async () => {
    const dir = tempDir('shitate-kb-race-');
    const home = path.join(dir, 'home');
    for (const round of [1, 2]) {
      const results = await collide(home, dir, `kb${round}`, 4);
      for (const r of results) {
        expect(r.out).not.toMatch(/SqliteError|already exists|SQLITE_BUSY/);
        expect(r.code, r.out).toBe(0);
        expect(r.out).toBe('["indexed"]');
      }
      const kb = KnowledgeBase.open(home, `kb${round}`, { create: false });
      try {
        expect(kb.stats()).toMatchObject({ documents: 4, failed: 0 });
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
