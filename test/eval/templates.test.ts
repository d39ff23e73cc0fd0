// Evaluation renders prompts and reference losses with the chat template variables training used: the
// config's, else the adapters' own (refusing adapters trained with different ones), on the real Qwen3
// tokenizer, multi-turn items included.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chatPrompt } from '../../src/generate/index.js';
import { prepareItem } from '../../src/eval/index.js';
import { evalTemplateVars } from '../../src/eval/template-vars.js';
import { loadTokenizer, type Tokenizer } from '../../src/tokenizer/index.js';
import { endOfTurnIds } from '../../src/tokenizer/loss-mask.js';
import type { EvalItem } from '../../src/eval/data.js';
import { expectShitateError } from '../io/helpers.js';
import { tokenizerDir } from '../helpers/templates.js';
import { tempDir } from '../helpers/tiny-model.js';

let tok: Tokenizer;
beforeAll(() => {
  tok = loadTokenizer(tokenizerDir('qwen3'));
});

const OFF = { enable_thinking: false };

function adapterWith(vars: Record<string, unknown> | null): string {
  const dir = path.join(tempDir(), 'adapter');
  fs.mkdirSync(dir);
  if (vars) fs.writeFileSync(path.join(dir, 'shitate.json'), JSON.stringify({ chat_template_kwargs: vars }));
  return dir;
}

describe('evaluation with template variables', () => {
  it('takes the config\'s variables, else the adapters\' own, and refuses adapters that disagree', () => {
    expect(evalTemplateVars('{"enable_thinking": true}', [adapterWith(OFF)])).toEqual({ enable_thinking: true });
    expect(evalTemplateVars(null, [adapterWith(OFF), adapterWith(OFF)])).toEqual(OFF);
    expect(evalTemplateVars(null, [])).toEqual({});
    expectShitateError(() => evalTemplateVars(null, [adapterWith(OFF), adapterWith(null)]), 'E_CONFIG', 'enable_thinking');
  });

  it('renders the prompt and scores the reference of a multi-turn Qwen3 item as training would', () => {
    const item: EvalItem = {
      index: 0, line: 1, prompt: null, question: 'And on Saturday?', reference: 'Closed.',
      messages: [{ role: 'user', content: 'Hours?' }, { role: 'assistant', content: '9 to 6.' }, { role: 'user', content: 'And on Saturday?' }],
    };
    const endIds = [...new Set([...tok.eosTokenIds, ...endOfTurnIds(tok)])];
    const p = prepareItem(tok, endIds, item, 1024, OFF);
    expect(p.promptIds).toEqual(chatPrompt(tok, item.messages!, OFF));
    const targets = Array.from(p.example!.ids).filter((_, i) => p.example!.mask[i] === 1);
    expect(tok.decode(targets)).toBe('Closed.<|im_end|>');
    expect(Array.from(p.example!.ids.slice(0, p.promptIds.length))).toEqual(p.promptIds); // the prompt is the prefix scored after
  });
});
