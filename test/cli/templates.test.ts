// Chat templates at the command line: generate --chat announces the fallback format as chat does; a system
// prompt given to a template without a system role is folded into the first user message and said (not
// refused mid-chat, not dropped in silence); --chat-template-kwargs reaches the template.
import { describe, expect, it } from 'vitest';
import { chatPrompt, generateText, openModel } from '../../src/generate/index.js';
import { foldSystem } from '../../src/tokenizer/index.js';
import { CHATML, modelDir } from '../generate/model-dir.js';
import { modelAround } from '../helpers/real-tokenizer-model.js';
import { tokenizerDir } from '../helpers/templates.js';
import { runCli } from './run-cli.js';

const REFUSES_SYSTEM = `{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}${CHATML}`;
const DROPS_SYSTEM = String.raw`{{ bos_token }}{% for message in messages %}{% if message['role'] != 'system' %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`;

describe('templates at the command line', () => {
  it('generate --chat says when the model ships no template, as chat does', async () => {
    const dir = modelDir('llama-tiny', { chatTemplate: null });
    const r = await runCli(['generate', '--model', dir, '--chat', '--prompt', 'hi there', '--max-tokens', '2']);
    expect(r.code).toBe(0);
    expect(r.stderr.match(/fallback format/g)).toHaveLength(1);
  });

  for (const [label, template, verb] of [['refuses', REFUSES_SYSTEM, 'refuses'], ['drops', DROPS_SYSTEM, 'drops']] as const) {
    it(`chat --system with a template that ${label} system messages folds the prompt into the first question and says so`, async () => {
      const dir = modelDir('llama-tiny', { chatTemplate: template });
      const m = openModel(dir);
      const folded = foldSystem([{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'hi there' }]);
      expect(folded).toEqual([{ role: 'user', content: 'Be brief\n\nhi there' }]);
      const want = await generateText(m, chatPrompt(m.tokenizer, folded), { maxNewTokens: 4 });
      const r = await runCli(['chat', '--model', dir, '--system', 'Be brief', '--max-tokens', '4'], { input: 'hi there\n' });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`has no system role (it ${verb} system messages)`);
      expect(r.stderr).not.toContain('error');
      expect(r.stdout).toBe(`${want.text}\n`);
      const g = await runCli(['generate', '--model', dir, '--system', 'Be brief', '--prompt', 'hi there', '--max-tokens', '4']);
      expect(g.code).toBe(0);
      expect(g.stdout).toBe(`${want.text}\n`);
      expect(g.stderr).toContain('has no system role');
    });
  }

  it('--chat-template-kwargs sets template variables (Qwen3 enable_thinking)', async () => {
    const dir = modelAround(tokenizerDir('qwen3'), '<|im_end|>');
    const m = openModel(dir);
    const ask = [{ role: 'user', content: 'hi' }];
    const off = chatPrompt(m.tokenizer, ask, { enable_thinking: false }).length;
    expect(off).toBe(chatPrompt(m.tokenizer, ask).length + 4); // the empty <think>\n\n</think>\n\n block
    const r = await runCli(['generate', '--model', dir, '--chat', '--prompt', 'hi', '--max-tokens', '1', '--chat-template-kwargs', '{"enable_thinking": false}']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`${off} prompt + `);
    const bad = await runCli(['generate', '--model', dir, '--chat', '--prompt', 'hi', '--chat-template-kwargs', 'enable_thinking=false']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--chat-template-kwargs: expected a JSON object');
  });
});
