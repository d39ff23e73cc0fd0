// The Ollama TEMPLATE converted from real chat templates renders multi-turn chats, with and without a system
// prompt, exactly as the Jinja template does (Go template run by a small interpreter of the same syntax);
// the Modelfile lists every end token as a stop and the run's system prompt.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertChatTemplate } from '../../src/export/ollama-template.js';
import { ollamaName, runSystemPrompt, writeModelfile } from '../../src/export/ollama.js';
import { EMPTY_GENERATION_CONFIG } from '../../src/io/generation-config.js';
import { foldSystem, loadTokenizer, type ChatMessage, type Tokenizer } from '../../src/tokenizer/index.js';
import { LLAMA2_CHAT, MISTRAL_V01, tokenizerDir, withTemplate } from '../helpers/templates.js';
import { renderGo } from './go-template.js';

const MINI = path.join(import.meta.dirname, '..', '..', 'models', 'shitate-mini');

const TOKENIZERS: [string, () => Tokenizer][] = [
  ['shitate-mini (ChatML)', () => loadTokenizer(MINI)],
  ['Qwen2.5 (default system prompt)', () => loadTokenizer(tokenizerDir('qwen2_5'))],
  ['Qwen3 (thinking)', () => loadTokenizer(tokenizerDir('qwen3'))],
  ['Llama 3.2 (bos, dated system header)', () => loadTokenizer(tokenizerDir('llama3_2'))],
  ['Llama 2 chat (system inside the first [INST])', () => loadTokenizer(withTemplate('llama2', LLAMA2_CHAT))],
  ['Mistral v0.1 (no system role)', () => loadTokenizer(withTemplate('llama2', MISTRAL_V01))],
];

// not the conversations the converter verifies itself with
const CHATS: ChatMessage[][] = [
  [{ role: 'system', content: '社内ヘルプデスクです。' }, { role: 'user', content: 'VPNに繋がりません' }, { role: 'assistant', content: '再起動をお試しください。' },
    { role: 'user', content: '直りました' }, { role: 'assistant', content: '良かったです。' }, { role: 'user', content: 'もう一つ質問が\nあります' }],
  [{ role: 'user', content: 'Hello' }, { role: 'assistant', content: 'Hi! How can I help?' }, { role: 'user', content: 'Price list, please.' }],
  [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: '1+1?' }],
];

const addsBos = (tok: Tokenizer) => tok.bosTokenId !== null && tok.encode('a')[0] === tok.bosTokenId;

describe('Jinja chat template -> Ollama TEMPLATE', () => {
  for (const [name, load] of TOKENIZERS) {
    it(`${name}: the Go template renders chats as the Jinja template`, () => {
      const tok = load();
      const bos = addsBos(tok) ? tok.bosToken : null;
      const { template, layout } = convertChatTemplate(tok, {}, bos);
      for (const chat of CHATS) {
        let want = tok.renderChat(layout.foldsSystem ? foldSystem(chat) : chat, { addGenerationPrompt: true });
        if (bos && want.startsWith(bos)) want = want.slice(bos.length); // Ollama adds bos when it tokenizes
        expect(renderGo(template, chat.map((m) => ({ Role: m.role, Content: m.content })))).toBe(want);
      }
    });
  }

  it('refuses a template whose turns depend on more than the roles around them', () => {
    const numbered = "{% for m in messages %}{{ loop.index }}:{{ m.role }}:{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}go:{% endif %}";
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-numbered-'));
    fs.copyFileSync(path.join(MINI, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
    const config = JSON.parse(fs.readFileSync(path.join(MINI, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: numbered }));
    const tok = loadTokenizer(dir);
    expect(() => convertChatTemplate(tok, {}, null)).toThrow(/one fixed text per turn/);
  });
});

describe('Modelfile', () => {
  it('has FROM, ADAPTER, TEMPLATE, a stop per end token, num_ctx, sampling and the system prompt', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-ollama-'));
    const tok = loadTokenizer(tokenizerDir('llama3_2'));
    const ids = ['<|eot_id|>', '<|end_of_text|>', '<|eom_id|>'].map((t) => tok.tokenToId(t)!);
    const gguf = path.join(dir, 'My Model Q4.gguf');
    const r = writeModelfile({
      gguf, adapterGguf: path.join(dir, 'lora.gguf'), tokenizer: tok, templateVars: {}, addBos: true, endIds: ids, numCtx: 4096,
      system: 'あなたは ACME の窓口です。', generation: { ...EMPTY_GENERATION_CONFIG, temperature: 0.6, topP: 0.9 },
    });
    const text = fs.readFileSync(r.file, 'utf8');
    expect(r.file).toBe(path.join(dir, 'My Model Q4.Modelfile'));
    expect(text).toContain('FROM ./My Model Q4.gguf\nADAPTER ./lora.gguf\nTEMPLATE """{{- $prev := "" }}');
    for (const s of ['<|eot_id|>', '<|end_of_text|>', '<|eom_id|>']) expect(text).toContain(`PARAMETER stop "${s}"`);
    expect(text).toContain('SYSTEM """あなたは ACME の窓口です。"""');
    expect(text).toContain('PARAMETER num_ctx 4096\nPARAMETER temperature 0.6\nPARAMETER top_p 0.9');
    expect(r.name).toBe('my-model-q4');
    expect(r.createCommand).toBe(`ollama create my-model-q4 -f ${r.file}`);
    expect(r.templateProblem).toBeNull();
    expect(ollamaName('/x/Qwen2.5-0.5B.gguf')).toBe('qwen2.5-0.5b');
  });

  it('takes the system prompt every training chat of the run shared, and none when they differ', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-run-'));
    const data = path.join(dir, 'train.jsonl');
    const chat = (sys: string) => JSON.stringify({ messages: [{ role: 'system', content: sys }, { role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] });
    fs.writeFileSync(path.join(dir, 'shitate.json'), JSON.stringify({ config: { data } }));
    fs.writeFileSync(data, [chat('You are ACME support.'), chat('You are ACME support.')].join('\n'));
    expect(runSystemPrompt(dir)).toBe('You are ACME support.');
    fs.writeFileSync(data, [chat('You are ACME support.'), chat('Other.')].join('\n'));
    expect(runSystemPrompt(dir)).toBeNull();
    expect(runSystemPrompt(path.join(dir, 'missing'))).toBeNull();
  });
});
