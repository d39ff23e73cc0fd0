// Tuned tiny Phi-3, Falcon and BLOOM models stop: LoRA training on two Q/A pairs (assistant-only loss, the end token
// trained) with the default targets (the fused projections), after which greedy generation through the same chat
// template gives the trained answers and ends on the end-of-turn token. Phi-3 with its own turn format and special
// tokens (<|user|> ... <|end|>, on a byte-level BPE trained here) and its LongRoPE switch inside the prompt; Falcon
// and BLOOM around the test ChatML tokenizer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTraining } from '../../src/train/session.js';
import { TRAIN_DEFAULTS } from '../../src/train/config.js';
import { chatPrompt, generateText, openModel } from '../../src/generate/index.js';
import { everyByte, trainBpe } from '../helpers/bpe.js';
import { tempDir, tinyModelDir, writeJsonl } from '../helpers/tiny-model.js';
import { familyModelDir } from '../helpers/family-model.js';

const QA = [
  ['What are your hours?', 'We are open 9 to 6 on weekdays.'],
  ['返品できますか?', '30日以内なら返品できます。'],
];

/** Phi-3-mini-instruct's turn format: <|role|>\n content <|end|>\n, then <|assistant|>\n to generate. */
const PHI3_TEMPLATE = "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}" +
  "{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}" +
  "{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}" +
  '{% else %}{{ eos_token }}{% endif %}';

/** A tokenizer folder with Phi-3's special tokens and chat template; returns it and the ids the model stops on. */
function phi3Tokenizer(): { dir: string; V: number; eos: number[]; end: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-phi3-tok-'));
  const corpus = QA.flat().join('\n').repeat(10) + `\n${everyByte()}\n`;
  const t = trainBpe(dir, corpus, { specials: ['<|endoftext|>', '<|assistant|>', '<|system|>', '<|end|>', '<|user|>'] });
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({
    bos_token: null, eos_token: '<|endoftext|>', pad_token: '<|endoftext|>', chat_template: PHI3_TEMPLATE,
  }));
  const id = (s: string) => t.tokenToId(s)!;
  // Phi-3's generation_config stops on <|endoftext|>, <|assistant|> and <|end|>
  return { dir, V: t.getVocabSize(true), eos: [id('<|endoftext|>'), id('<|assistant|>'), id('<|end|>')], end: id('<|end|>') };
}

function chatmlTokenizer(): { dir: string; V: number; eos: number[]; end: number } {
  const dir = tinyModelDir();
  const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { vocab_size: number; eos_token_id: number };
  return { dir, V: c.vocab_size, eos: [c.eos_token_id], end: c.eos_token_id };
}

const CASES: [string, () => { dir: string; V: number; eos: number[]; end: number }, (V: number, eos: number[]) => Record<string, unknown>][] = [
  ['phi3', phi3Tokenizer, (V, eos) => ({
    model_type: 'phi3', architectures: ['Phi3ForCausalLM'], hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, partial_rotary_factor: 0.75, max_position_embeddings: 512,
    original_max_position_embeddings: 8, rope_scaling: { type: 'longrope', short_factor: [1, 1.1, 1.3, 1.6, 2, 2.5], long_factor: [1, 2, 4, 8, 16, 32] },
    sliding_window: 256, tie_word_embeddings: true, vocab_size: V, eos_token_id: eos, bos_token_id: null, torch_dtype: 'float32',
  })],
  ['falcon', chatmlTokenizer, (V, eos) => ({
    model_type: 'falcon', architectures: ['FalconForCausalLM'], hidden_size: 64, num_attention_heads: 4, num_hidden_layers: 2,
    new_decoder_architecture: true, num_kv_heads: 2, vocab_size: V, eos_token_id: eos[0], bos_token_id: null, torch_dtype: 'float32',
  })],
  ['bloom', chatmlTokenizer, (V, eos) => ({
    model_type: 'bloom', architectures: ['BloomForCausalLM'], hidden_size: 64, n_head: 4, n_layer: 2, vocab_size: V,
    eos_token_id: eos[0], bos_token_id: null, torch_dtype: 'float32',
  })],
];

describe.each(CASES)('a tuned tiny %s', (_name, tokenizer, config) => {
  it('answers as trained and stops on the end of its turn', async () => {
    const tok = tokenizer();
    // LayerNorm decoders drawn at the helper's default scale are nearly degenerate (every block dominated by its
    // biases) and a rank-16 adapter barely moves them; a wider init gives a model LoRA can tune
    const model = familyModelDir({ config: config(tok.V, tok.eos), tokenizerDir: tok.dir, seed: 11, std: _name === 'phi3' ? 0.08 : 0.3 });
    const dir = tempDir();
    const data = writeJsonl(path.join(dir, 'train.jsonl'), Array.from({ length: 4 }, (_, i) => ({
      messages: [{ role: 'user', content: QA[i % 2][0] }, { role: 'assistant', content: QA[i % 2][1] }],
    })));
    const res = await runTraining({
      config: {
        ...TRAIN_DEFAULTS, model, data, out: path.join(dir, 'run'), batchTokens: 256, loraDropout: 0, learningRate: 1e-2,
        epochs: 40, warmupRatio: 0, loraR: 16, loraAlpha: 32, valSplit: 0,
      },
    });
    expect(res.state.lastTrainLoss!).toBeLessThan(0.2);
    const base = openModel(model);
    expect(base.endIds).toContain(tok.end);
    const ask = async (m: typeof base, q: string) => generateText(m, chatPrompt(m.tokenizer, [{ role: 'user', content: q }]), { maxNewTokens: 40, temperature: 0 });
    expect((await ask(base, QA[0][0])).text).not.toContain(QA[0][1]);
    const tuned = openModel(model, { adapter: res.adapterDir });
    for (const [q, a] of QA) {
      const r = await ask(tuned, q);
      expect(r.text).toContain(a);
      expect(r.finishReason).toBe('stop');
      expect(r.tokens[r.tokens.length - 1]).toBe(tok.end);
    }
  });
});
