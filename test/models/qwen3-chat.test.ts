// A tiny random Qwen3 around the real Qwen3 tokenizer and chat template: LoRA training on a few Q/A pairs
// (assistant-only loss, the end-of-turn token trained), after which greedy generation with the same template
// and template variables (saved with the adapter) gives the trained answer and stops on <|im_end|>, while the
// base model does neither.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTraining } from '../../src/train/session.js';
import { TRAIN_DEFAULTS } from '../../src/train/config.js';
import { chatPrompt, generateText, openModel } from '../../src/generate/index.js';
import { tempDir, writeJsonl } from '../helpers/tiny-model.js';
import { QWEN3_TOKENIZER, familyModelDir, tinyQwen3Config } from '../helpers/family-model.js';

const QA = [
  ['What are your hours?', 'We are open 9 to 6 on weekdays.'],
  ['返品できますか?', '30日以内なら返品できます。'],
];

describe('a tuned tiny Qwen3 with the real tokenizer', () => {
  it('answers as trained and stops on <|im_end|>', async () => {
    const model = familyModelDir({ config: tinyQwen3Config({ hidden_size: 64, head_dim: 16 }), tokenizerDir: QWEN3_TOKENIZER, seed: 5 });
    const dir = tempDir();
    const data = writeJsonl(path.join(dir, 'train.jsonl'), Array.from({ length: 4 }, (_, i) => ({
      messages: [{ role: 'user', content: QA[i % 2][0] }, { role: 'assistant', content: QA[i % 2][1] }],
    })));
    const res = await runTraining({
      config: {
        ...TRAIN_DEFAULTS, model, data, out: path.join(dir, 'run'), batchTokens: 256, loraDropout: 0, learningRate: 3e-2,
        epochs: 30, warmupRatio: 0, loraR: 16, loraAlpha: 32, valSplit: 0,
      },
    });
    expect(res.state.lastTrainLoss!).toBeLessThan(0.2);
    const base = openModel(model);
    const imEnd = base.tokenizer.tokenToId('<|im_end|>')!;
    expect(base.endIds).toContain(imEnd);
    // the template variables training rendered with (Qwen3: thinking off unless configured)
    const saved = JSON.parse(fs.readFileSync(path.join(res.adapterDir, 'shitate.json'), 'utf8')) as { chat_template_kwargs?: Record<string, unknown> };
    const vars = saved.chat_template_kwargs ?? {};
    const ask = async (m: typeof base, q: string) => generateText(m, chatPrompt(m.tokenizer, [{ role: 'user', content: q }], vars), { maxNewTokens: 40, temperature: 0 });
    const before = await ask(base, QA[0][0]);
    expect(before.text).not.toContain(QA[0][1]);
    const tuned = openModel(model, { adapter: res.adapterDir });
    for (const [q, a] of QA) {
      const r = await ask(tuned, q);
      expect(r.text).toContain(a);
      expect(r.finishReason).toBe('stop');
      expect(r.tokens[r.tokens.length - 1]).toBe(imEnd);
    }
  });
});
