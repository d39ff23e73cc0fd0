// The CLI end to end. kb, assistant new/show and memory run in-process through the command dispatcher
// (fast); `assistant chat` runs as a real child process with piped stdin against a local OpenAI-compatible
// server.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './in-process.js';
import { runCli } from '../cli/run-cli.js';
import { tempDir } from '../helpers/tiny-model.js';
import { openaiCompatible, startServer, type FakeServer } from '../providers/fake-server.js';
import { CORPUS_DIR } from '../rag/corpus.js';

let dir: string;
let server: FakeServer;
const cwd0 = process.cwd();
beforeAll(async () => {
  dir = tempDir('shitate-cli-');
  process.env.SHITATE_HOME = path.join(dir, 'project');
  server = await startServer(openaiCompatible({ reply: (m) => `answer to: ${m[m.length - 1].content}` }));
  for (const f of ['work-rules.md', 'returns.html', 'faq.csv']) fs.copyFileSync(path.join(CORPUS_DIR, f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'broken.pdf'), '%PDF-1.4\nnot really');
  // the child process runs from this folder too; node resolves tsx from here
  fs.symlinkSync(path.join(import.meta.dirname, '..', '..', 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  process.chdir(dir);
});
afterAll(async () => {
  process.chdir(cwd0);
  delete process.env.SHITATE_HOME;
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('shitate kb', () => {
  it('indexes files with a status per file, reports the broken one and exits 1', async () => {
    const r = await cli(['kb', 'add', 'handbook', 'work-rules.md', 'broken.pdf', 'returns.html', 'faq.csv']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[1/4] work-rules.md … indexed:');
    expect(r.stderr).toMatch(/\[2\/4\] broken\.pdf … FAILED — could not read the PDF/);
    expect(r.stderr).toContain('4 files: 3 indexed, 0 updated, 0 unchanged, 1 failed');
    const again = await cli(['kb', 'add', 'handbook', 'work-rules.md']);
    expect(again).toMatchObject({ code: 0, stderr: expect.stringContaining('work-rules.md … unchanged') });
    const listed = await cli(['kb', 'list', 'handbook']);
    expect(listed.stdout).toMatch(/failed\s+broken\.pdf/);
  });

  it('searches with citations, and names a missing knowledge base', async () => {
    const r = await cli(['kb', 'search', 'handbook', '有給']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^1\. work-rules\.md § .*年次有給休暇/);
    const missing = await cli(['kb', 'search', 'nope', 'x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error[E_KB_NOT_FOUND]');
  });
});

describe('shitate assistant and memory', () => {
  it('creates a profile and shows it with the rendered prompt', async () => {
    const made = await cli(['assistant', 'new', 'support', '--provider', 'openai', '--model', 'tiny', '--url', `${server.url}/v1`,
      '--kb', 'handbook', '--memory', '--language', 'ja', '--instructions', '{{ company }}のサポート担当です。', '--var', 'company=ミナト精機',
      '--starter', '返品の期限は？']);
    expect(made.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'project', 'assistants', 'support.yaml'), 'utf8')).toContain('company: ミナト精機');
    expect((await cli(['assistant', 'new', 'support', '--model', 'x'])).code).toBe(2); // exists: refused without --force
    const shown = await cli(['assistant', 'show', 'support']);
    expect(shown.stdout).toContain('ミナト精機のサポート担当です。');
    expect((await cli(['assistant', 'list'])).stdout).toMatch(/^support\topenai:tiny/);
  });

  it('chats with knowledge and memory (a real child process), then lists and forgets what it remembered', async () => {
    const r = await runCli(['assistant', 'chat', 'support', '--user', 'alice'], {
      cwd: dir, env: { SHITATE_HOME: path.join(dir, 'project') }, input: '私は大阪支店の所属です。覚えておいて\n返品の期限は何日？\n/memory\n/exit\n',
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('try: 返品の期限は？');
    expect(r.stdout).toContain('answer to: 返品の期限は何日？');
    // three small documents: whole-document mode, the most relevant first
    expect(r.stderr).toMatch(/sources: \[1\] returns\.html; \[2\] /);
    expect(r.stderr).toContain('[remembered #1: 私は大阪支店の所属です。]');
    expect(JSON.stringify(server.requests[server.requests.length - 1].json)).toContain('大阪支店'); // in the second turn's prompt
    expect((await cli(['memory', 'list', '--user', 'alice'])).stdout).toMatch(/^1\tsupport\tuser\t私は大阪支店の所属です。/);
    expect((await cli(['memory', 'forget', '--user', 'mallory', '1'])).code).toBe(1);
    const forgot = await cli(['memory', 'forget', '--user', 'alice', '1']);
    expect(forgot).toMatchObject({ code: 0, stderr: expect.stringContaining('forgot 1 of 1') });
    expect((await cli(['memory', 'list', '--user', 'alice'])).stdout).toBe('');
  });
});
