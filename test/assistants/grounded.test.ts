// Grounded answers on the bundled 512-token model and the sample FAQ: `data prepare --with-context` writes
// the very prompt an assistant with that knowledge base sends for the question (one layout for training and
// inference), and `eval --kb` asks the model with and without retrieval in one report with recall@k.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAssistant } from '../../src/assistants/index.js';
import type { ChatEvent, ChatMessage, Provider } from '../../src/providers/index.js';
import { REFUSALS } from '../../src/data/with-context.js';
import { tempDir } from '../helpers/tiny-model.js';
import { faqHome, FAQ_DIR, MINI } from './faq-home.js';
import { cli } from './in-process.js';

let home: string;
let out: string;
beforeAll(async () => {
  home = await faqHome();
  out = tempDir('shitate-grounded-');
  process.env.SHITATE_HOME = home;
});
afterAll(() => {
  delete process.env.SHITATE_HOME;
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
});

const silent: Provider = {
  kind: 'local', model: 'silent', countTokens: () => 0,
  async *chat(): AsyncGenerator<ChatEvent> {
    yield { type: 'done', finishReason: 'stop', usage: null };
  },
};

type Row = { messages: ChatMessage[] };
const rows = (f: string): Row[] => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);

describe('retrieval-augmented examples', () => {
  it('lay each question out as the assistant with the knowledge base will, answer citing the FAQ row, refuse a share', async () => {
    const data = path.join(out, 'data');
    const r = await cli(['data', 'prepare', path.join(FAQ_DIR, 'faq.csv'), '--out', data, '--dedup', '--skip-invalid', '--with-context', 'faq', '--model', MINI]);
    expect(r.stderr).not.toContain('error[');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/with context from faq: 163 of 163 examples/);
    const all = [...rows(path.join(data, 'train.jsonl')), ...rows(path.join(data, 'val.jsonl'))];
    const refusals = all.filter((x) => x.messages[2].content === REFUSALS.ja);
    expect(refusals.length / all.length).toBeGreaterThan(0.05);
    expect(refusals.length / all.length).toBeLessThan(0.3);
    const cited = all.filter((x) => / \[\d\]$/.test(x.messages[2].content));
    expect(cited.length + refusals.length).toBe(all.length);

    expect((await cli(['assistant', 'new', 'support', '--provider', 'local', '--model', MINI, '--kb', 'faq', '--language', 'ja'])).code).toBe(0);
    const a = resolveAssistant('support', { home, provider: silent });
    try {
      for (const ex of cited.slice(0, 5)) {
        const [system, user, reply] = ex.messages;
        const t = await a.prepare([user]);
        expect(t.messages).toEqual([system, user]);
        const n = Number(/\[(\d)\]$/.exec(reply.content)![1]);
        expect(t.sources[n - 1].text).toContain(reply.content.replace(/ \[\d\]$/, ''));
        expect(t.sources[n - 1].cite).toMatch(/^faq\.csv, row \d+$/);
      }
    } finally {
      a.close();
    }
  }, 300_000);

  it('needs the model the examples are planned for', async () => {
    const r = await cli(['data', 'prepare', path.join(FAQ_DIR, 'faq.csv'), '--out', path.join(out, 'x'), '--with-context', 'faq']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--with-context: expected --model DIR');
  });
});

describe('eval --kb', () => {
  it('asks the base model with and without retrieval and reports recall next to the answers', async () => {
    const dir = path.join(out, 'eval');
    const r = await cli(['eval', '--model', MINI, '--data', path.join(FAQ_DIR, 'heldout.jsonl'), '--limit', '6', '--kb', 'faq',
      '--max-tokens', '6', '--samples', '0', '--bootstrap-resamples', '0', '--out', dir]);
    expect(r.stderr).not.toContain('error[');
    expect(r.code).toBe(0);
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'eval.json'), 'utf8')) as {
      systems: { system: string; questions: number }[]; comparisons: { system: string; baseline: string }[];
      retrieval: { k: number; judged: number; recallAt: Record<string, number>; perQuestion: { rank: number | null; prompt: string[] }[] };
      questions: { results: Record<string, unknown> }[];
    };
    expect(report.systems.map((s) => [s.system, s.questions])).toEqual([['base', 6], ['base+kb', 6]]);
    expect(report.comparisons).toEqual([expect.objectContaining({ system: 'base+kb', baseline: 'base' })]);
    expect(report.retrieval).toMatchObject({ k: 5, judged: 6 });
    expect(Object.keys(report.retrieval.recallAt)).toEqual(['1', '3', '5']);
    expect(report.retrieval.recallAt['5']).toBeGreaterThanOrEqual(report.retrieval.recallAt['1']);
    expect(report.retrieval.perQuestion[0].prompt[0]).toMatch(/^faq\.csv, row \d+$/);
    expect(Object.keys(report.questions[0].results).sort()).toEqual(['base', 'base+kb']);
    expect(r.stdout).toMatch(/retrieval \(faq\): recall@1 [\d.]+% {2}@3 [\d.]+% {2}@5 [\d.]+%/);
  }, 300_000);

  it('with --quote, answers a third time quoting the retrieved entries, and refuses --quote without --kb', async () => {
    const dir = path.join(out, 'eval-quote');
    const r = await cli(['eval', '--model', MINI, '--data', path.join(FAQ_DIR, 'heldout.jsonl'), '--limit', '4', '--kb', 'faq', '--quote', '100',
      '--max-tokens', '12', '--samples', '0', '--bootstrap-resamples', '0', '--out', dir]);
    expect(r.stderr).not.toContain('error[');
    expect(r.code).toBe(0);
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'eval.json'), 'utf8')) as {
      settings: { quote?: number }; systems: { system: string }[]; questions: { results: Record<string, { answer: string }> }[];
    };
    expect(report.settings.quote).toBe(100);
    expect(report.systems.map((s) => s.system)).toEqual(['base', 'base+kb', 'base+kb+quote']);
    // a bonus of 100 outweighs anything the model prefers: every quoted answer is the start of an FAQ answer,
    // where the free answers of the untuned model are not
    const faq = new TextDecoder('shift_jis').decode(fs.readFileSync(path.join(FAQ_DIR, 'faq.csv'))); // the sample sheet is Shift_JIS
    for (const q of report.questions) {
      const quoted = q.results['base+kb+quote'].answer.trim();
      expect(quoted.length).toBeGreaterThan(5);
      expect(faq).toContain(quoted);
      expect(faq.includes(q.results['base+kb'].answer.trim())).toBe(false);
    }
    const bad = await cli(['eval', '--model', MINI, '--data', path.join(FAQ_DIR, 'heldout.jsonl'), '--quote', '10', '--out', path.join(out, 'x')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--quote 10 quotes retrieved passages; expected --kb KB/);
    // an assistant's own quoting applies with --assistant, unless --quote says otherwise
    expect((await cli(['assistant', 'new', 'quoter', '--provider', 'local', '--model', MINI, '--kb', 'faq', '--language', 'ja', '--quote', '50'])).code).toBe(0);
    const viaProfile = path.join(out, 'eval-quote-profile');
    const p = await cli(['eval', '--model', MINI, '--data', path.join(FAQ_DIR, 'heldout.jsonl'), '--limit', '2', '--kb', 'faq', '--assistant', 'quoter',
      '--max-tokens', '4', '--samples', '0', '--bootstrap-resamples', '0', '--out', viaProfile]);
    expect(p.code, p.stderr).toBe(0);
    const pr = JSON.parse(fs.readFileSync(path.join(viaProfile, 'eval.json'), 'utf8')) as { settings: { quote?: number }; systems: { system: string }[] };
    expect(pr.settings.quote).toBe(50);
    expect(pr.systems.map((x) => x.system)).toEqual(['base', 'base+kb', 'base+kb+quote']);
  }, 300_000);
});
