// `shitate chat` run as a real process with piped stdin: replies equal the library's for the same
// conversation, /reset, /system, /save (OpenAI-style JSON) and /exit work, and a model without a template
// is announced once and chats in the fallback format.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chatPrompt, generateText, openModel, type OpenedModel } from '../../src/generate/index.js';
import type { ChatMessage } from '../../src/tokenizer/index.js';
import { tempDir } from '../io/helpers.js';
import { modelDir } from '../generate/model-dir.js';
import { runCli } from './run-cli.js';

const MAX = 5;

async function reply(m: OpenedModel, messages: ChatMessage[]): Promise<string> {
  return (await generateText(m, chatPrompt(m.tokenizer, messages), { maxNewTokens: MAX })).text;
}

describe('shitate chat', () => {
  it('keeps a multi-turn conversation and runs its commands', async () => {
    const dir = modelDir('llama-tiny');
    const m = openModel(dir);
    const out = tempDir('shitate-chat-');
    const [f1, f2] = [path.join(out, 'one.json'), path.join(out, 'two.json')];
    const u1 = { role: 'user', content: 'hi there' };
    const u2 = { role: 'user', content: 'what is the refund policy?' };
    const sys = { role: 'system', content: 'Be brief' };
    const r1 = await reply(m, [u1]);
    const r3 = await reply(m, [u1, { role: 'assistant', content: r1 }, u2]);
    const r4 = await reply(m, [sys, u1]);
    expect(r4).not.toBe(r1);

    const input = ['hi there', '/reset', 'hi there', u2.content, `/save ${f1}`, '/help', '/nope', `/system ${sys.content}`,
      'hi there', `/save ${f2}`, '/exit', 'never answered', ''].join('\n');
    const r = await runCli(['chat', '--model', dir, '--max-tokens', String(MAX)], { input });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe([r1, r1, r3, r4, ''].join('\n'));
    expect(r.stderr).toContain('[conversation cleared]');
    expect(r.stderr).toContain('/save FILE');
    expect(r.stderr).toContain('unknown command /nope');
    expect(JSON.parse(fs.readFileSync(f1, 'utf8'))).toEqual({ messages: [u1, { role: 'assistant', content: r1 }, u2, { role: 'assistant', content: r3 }] });
    expect(JSON.parse(fs.readFileSync(f2, 'utf8'))).toEqual({ messages: [sys, u1, { role: 'assistant', content: r4 }] });
  });

  it('says once that a model without a template chats in the fallback format', async () => {
    const dir = modelDir('llama-tiny', { chatTemplate: null });
    const m = openModel(dir);
    expect(m.tokenizer.templateSource).toBe('fallback');
    const u = { role: 'user', content: 'hi there' };
    const r1 = await reply(m, [u]);
    const r2 = await reply(m, [u, { role: 'assistant', content: r1 }, u]);
    const r = await runCli(['chat', '--model', dir, '--max-tokens', String(MAX)], { input: 'hi there\nhi there\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${r1}\n${r2}\n`);
    expect(r.stderr.match(/fallback format/g)?.length).toBe(1);
  });
});
