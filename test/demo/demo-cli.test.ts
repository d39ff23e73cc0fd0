// `shitate demo` end to end through the real CLI at reduced size (a few training steps, a few held-out
// questions): the bundled model and sample FAQ go through every step, the training prompts hold FAQ
// entries from the demo's knowledge base, the tuned adapter has a lower loss than the base on held-out
// questions, and the summary gives retrieval recall@5, the four systems' character F1 and the grounded two
// again quoting the retrieved entries.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from '../cli/run-cli.js';

interface SystemRow { system: string; loss: number | null; questions: number; charF1: number | null }
interface Retrieval { k: number; judged: number; recallAt: Record<string, number> }

/** "42.5%" → 0.425 */
const share = (s: string) => Number(s.replace('%', '')) / 100;

describe('shitate demo', () => {
  it('checks, prepares, grounds, tunes, evaluates with and without retrieval and answers; summary with recall@5 and four F1s', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-demo-'));
    onTestFinished(() => fs.rmSync(root, { recursive: true, force: true }));
    const out = path.join(root, 'demo');
    const r = await runCli(['demo', '--max-steps', '12', '--limit', '4', '--ask', '1', '--out', out, '--lang', 'en']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'eval', 'eval.json'), 'utf8')) as { systems: SystemRow[]; retrieval: Retrieval; settings: { quote?: number } };
    expect(report.systems.map((s) => s.system)).toEqual(['base', 'run/adapter', 'base+kb', 'run/adapter+kb', 'base+kb+quote', 'run/adapter+kb+quote']);
    expect(report.settings.quote).toBe(10);
    const [base, tuned, , tunedKb] = report.systems;
    expect(tuned.questions).toBe(4);
    expect(tuned.loss).not.toBeNull();
    expect(tuned.loss!).toBeLessThan(base.loss!);
    expect(tunedKb.loss!).toBeLessThan(base.loss!);
    expect(report.retrieval).toMatchObject({ k: 5, judged: 4 });

    // the summary: recall@5 and the four F1 numbers, each a share, the same as eval.json holds
    const m = /right FAQ entry in the top 5 for ([\d.]+%) of them[^\n]*\n\s*character F1 {2}base ([\d.]+%) {2}· {2}tuned ([\d.]+%) {2}· {2}base\+retrieval ([\d.]+%) {2}· {2}tuned\+retrieval ([\d.]+%)/
      .exec(r.stdout);
    expect(m, r.stdout.slice(-2000)).not.toBeNull();
    const [recall, ...f1] = m!.slice(1).map(share);
    expect(recall).toBeCloseTo(report.retrieval.recallAt['5'], 3);
    expect(recall).toBeGreaterThanOrEqual(0.75); // 3 of the first 4 held-out paraphrases at least
    f1.forEach((v, i) => {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
      expect(v).toBeCloseTo(report.systems[i].charF1!, 3);
    });
    const q = /quoting the entries \(source-anchored decoding, --quote 10\): base\+retrieval ([\d.]+%) {2}· {2}tuned\+retrieval ([\d.]+%)/.exec(r.stdout);
    expect(q, r.stdout.slice(-2000)).not.toBeNull();
    expect(share(q![1])).toBeCloseTo(report.systems[4].charF1!, 3);
    expect(share(q![2])).toBeCloseTo(report.systems[5].charF1!, 3);

    // training prompts hold entries of the demo's knowledge base, cited by row; so does the closing answer
    const first = JSON.parse(fs.readFileSync(path.join(out, 'data', 'train.jsonl'), 'utf8').split('\n')[0]) as { messages: { role: string; content: string }[] };
    expect(first.messages[0]).toMatchObject({ role: 'system', content: expect.stringMatching(/\[1\] faq\.csv, row \d+\n質問: /) });
    expect(r.stdout).toMatch(/Q: 郵送代はいくら？\n {2}base : .*\n {2}tuned\+kb: .*\n {2}source: (faq\.csv, row \d+|none cited \(the prompt held faq\.csv, row \d+)/);
    // every step left its files, and the user is told how to go on with them
    for (const f of ['data/train.jsonl', 'data/val.jsonl', 'data/context.json', 'project/kb/faq.sqlite', 'run/adapter/adapter_config.json', 'eval/eval.html']) {
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    }
    expect(r.stdout).toContain(`--adapter ${path.join(out, 'run', 'adapter')}`);
    expect(r.stdout).toContain(`SHITATE_HOME=${path.join(out, 'project')} shitate assistant new support`);
    expect(r.stdout).toMatch(/--kb faq --language ja --quote 10\n/);
    expect(r.stdout).toContain('problems.csv');
  }, 240_000);

  it('refuses an --out folder that already holds files', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-demo-'));
    onTestFinished(() => fs.rmSync(out, { recursive: true, force: true }));
    fs.writeFileSync(path.join(out, 'keep.txt'), 'x');
    const r = await runCli(['demo', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('E_OUT_EXISTS');
    expect(fs.readdirSync(out)).toEqual(['keep.txt']);
  });
});
