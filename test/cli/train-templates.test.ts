// Real templates before and during training, through the CLI: `data check --model` renders and masks every
// example with the model's template and reports refusals with file and line; `train --dry-run` shows the
// trained tokens and the counts and trains nothing; multi-turn reasoning data trains on Qwen3's stock
// template, with thinking off by default, said, and saved with the adapter.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelAround } from '../helpers/real-tokenizer-model.js';
import { MISTRAL_V01, tokenizerDir, withTemplate } from '../helpers/templates.js';
import { tempDir, writeJsonl } from '../helpers/tiny-model.js';
import { runCli } from './run-cli.js';

const QA = Array.from({ length: 12 }, (_, i) => [`商品${i}の送料はいくらですか？`, `商品${i}の送料は${500 + i}円です。`]);
const chat = (sys: string | null, q: string, a: string) => ({
  messages: [...(sys ? [{ role: 'system', content: sys }] : []), { role: 'user', content: q }, { role: 'assistant', content: a }],
});

let work: string;
let qwen: string;
beforeAll(() => {
  work = tempDir();
  qwen = modelAround(tokenizerDir('qwen3'), '<|im_end|>');
}, 60_000);

describe('data check --model', () => {
  it('reports a system message the template has no role for, with file and line, instead of "Ready to train"', async () => {
    const file = writeJsonl(path.join(work, 'sys.jsonl'), QA.map(([q, a], i) => chat(i === 3 ? 'あなたは丁寧な担当者です。' : null, q, a)));
    const r = await runCli(['data', 'check', file, '--model', withTemplate('llama2', MISTRAL_V01), '--lang', 'en']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('No system role in the chat template (1)');
    expect(r.stdout).toContain(`${file} line 4: message 1 is a system message`);
    expect(r.stdout).toMatch(/Not ready/);
    const ok = await runCli(['data', 'check', file, '--model', qwen, '--lang', 'en']);
    expect(ok.stdout).not.toMatch(/chat template/);
    expect(ok.stdout).toMatch(/Ready to train/);
  });
});

describe('data prepare', () => {
  it('keeps reasoning_content (also read from "reasoning") for the template to render', async () => {
    const rows = QA.map(([q, a], i) => ({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a, [i % 2 ? 'reasoning' : 'reasoning_content']: `考え${i}` }] }));
    const file = writeJsonl(path.join(work, 'reasoning.jsonl'), rows);
    const out = path.join(work, 'prepared');
    const r = await runCli(['data', 'prepare', file, '--out', out, '--val-ratio', '0']);
    expect(r.code).toBe(0);
    const written = fs.readFileSync(path.join(out, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { messages: { reasoning_content?: string }[] });
    expect(written.map((w) => w.messages[1].reasoning_content).sort()).toEqual(QA.map((_, i) => `考え${i}`).sort());
  });
});

describe('train --dry-run and training on Qwen3', () => {
  const multi = (i: number) => ({
    messages: [
      { role: 'user', content: QA[i][0] }, { role: 'assistant', content: '<think>\n送料表を見る\n</think>\n\n' + QA[i][1] },
      { role: 'user', content: 'ありがとう' }, { role: 'assistant', content: 'どういたしまして。', reasoning_content: 'お礼への返事' },
    ],
  });

  it('shows the trained tokens and the counts, and trains nothing', async () => {
    const data = writeJsonl(path.join(work, 'multi.jsonl'), QA.map((_, i) => multi(i)));
    const out = path.join(work, 'never');
    const r = await runCli(['train', '--model', qwen, '--data', data, '--out', out, '--dry-run']);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('enable_thinking=false');
    expect(r.stdout).toContain(`--- ${data}:1: `);
    expect(r.stdout).toContain('[[商品0の送料は500円です。<|im_end|>]]');
    expect(r.stdout).toContain('[[<think>\nお礼への返事\n</think>\n\nどういたしまして。<|im_end|>]]');
    expect(r.stdout).not.toContain('[[<|im_start|>');
    expect(r.stdout).toMatch(/training: 11 examples, \d+ tokens, \d+ trained/);
    expect(r.stdout).toMatch(/validation: 1 examples/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('trains multi-turn reasoning data on the stock template and saves the template variables with the adapter', async () => {
    const data = writeJsonl(path.join(work, 'multi2.jsonl'), QA.map((_, i) => multi(i)));
    const out = path.join(work, 'run');
    const r = await runCli(['train', '--model', qwen, '--data', data, '--out', out, '--max-steps', '1', '--batch-tokens', '512', '--val-split', '0']);
    expect(r.stderr).not.toMatch(/error\[/);
    expect(r.code).toBe(0);
    const saved = JSON.parse(fs.readFileSync(path.join(out, 'adapter', 'shitate.json'), 'utf8')) as { chat_template_kwargs: unknown };
    expect(saved.chat_template_kwargs).toEqual({ enable_thinking: false });
  });

  it('a refusal stops the dry run with the example\'s file and line', async () => {
    const data = writeJsonl(path.join(work, 'bad.jsonl'), [chat(null, 'a', 'b'), chat('Be kind.', 'c', 'd')]);
    const model = modelAround(withTemplate('llama2', MISTRAL_V01), '</s>');
    const r = await runCli(['train', '--model', model, '--data', data, '--dry-run']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${data}:2: message 1 is a system message`);
    expect(r.stderr).toContain('no system role');
  });
});
