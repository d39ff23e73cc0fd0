// Qwen3.5 and LFM2 around tokenizers shaped like their published ones (test/helpers/hybrid-tokenizers.ts): the chat
// templates render the published structure (thinking switch, vision items, XML tool calls and tool responses for
// Qwen3.5; BOS, tool list and tool-response tags for LFM2), and a tiny random model of each, LoRA-tuned on a few Q/A
// pairs with its template, answers as trained through the recurrent decode path and stops on <|im_end|>.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTraining } from '../../src/train/session.js';
import { TRAIN_DEFAULTS } from '../../src/train/config.js';
import { chatPrompt, generateText, openModel } from '../../src/generate/index.js';
import { loadTokenizer, type ChatMessage } from '../../src/tokenizer/index.js';
import { tempDir, writeJsonl } from '../helpers/tiny-model.js';
import { familyModelDir } from '../helpers/family-model.js';
import { Template } from '@huggingface/jinja';
import { LFM2_CHAT, QWEN35_CHAT, lfm2Tokenizer, qwen35Tokenizer, type HybridTokenizer } from '../helpers/hybrid-tokenizers.js';

const QA = [
  ['What are your hours?', 'We are open 9 to 6 on weekdays.'],
  ['返品できますか?', '30日以内なら返品できます。'],
];

describe('the Qwen3.5 chat template', () => {
  const tok = loadTokenizer(qwen35Tokenizer().dir);

  it('renders system, image, thinking kept after the last query only, XML tool calls and tool responses', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!', reasoning_content: 'a greeting' },
      { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is this?' }] },
      { role: 'assistant', content: '', tool_calls: [{ type: 'function', function: { name: 'look', arguments: { q: 'cat', n: 2 } } }] },
      { role: 'tool', content: '{"label": "cat"}' },
      { role: 'assistant', content: '<think>\nIt is a cat.\n</think>\n\nA cat.' },
    ] as unknown as ChatMessage[];
    expect(tok.renderChat(messages)).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n' +
      '<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is this?<|im_end|>\n' +
      '<|im_start|>assistant\n<think>\n\n</think>\n\n<tool_call>\n<function=look>\n<parameter=q>\ncat\n</parameter>\n' +
      '<parameter=n>\n2\n</parameter>\n</function>\n</tool_call><|im_end|>\n' +
      '<|im_start|>user\n<tool_response>\n{"label": "cat"}\n</tool_response><|im_end|>\n' +
      '<|im_start|>assistant\n<think>\nIt is a cat.\n</think>\n\nA cat.<|im_end|>\n');
  });

  it('opens a thinking block to generate, an empty one with enable_thinking=false; tools go in the system turn', () => {
    const user = [{ role: 'user', content: 'Hi' }] as ChatMessage[];
    expect(tok.renderChat(user, { addGenerationPrompt: true })).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n');
    expect(tok.renderChat(user, { addGenerationPrompt: true, templateVars: { enable_thinking: false } }))
      .toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
    // tools as transformers passes them (apply_chat_template(tools=...)), rendered straight from the template text
    const withTools = new Template(QWEN35_CHAT).render({ messages: [{ role: 'system', content: 'Be brief.' }, ...user], tools: [{ name: 'look' }] });
    expect(withTools).toMatch(/^<\|im_start\|>system\n# Tools\n[\s\S]*<tools>\n\{"name": ?"look"\}\n<\/tools>[\s\S]*<tool_call>[\s\S]*\n\nBe brief\.<\|im_end\|>\n<\|im_start\|>user\nHi/);
    expect(() => tok.renderChat([{ role: 'assistant', content: 'x' }] as ChatMessage[])).toThrow(/user query/);
  });

  it('keeps <think> in decoded text and ends turns on <|im_end|>, with no BOS', () => {
    const think = tok.tokenToId('<think>')!;
    expect(tok.specialIds.has(think)).toBe(false);
    expect(tok.eosTokenId).toBe(tok.tokenToId('<|im_end|>'));
    expect(tok.bosTokenId).toBeNull();
    expect(tok.decode(tok.encode('<think>\nok\n</think>'))).toBe('<think>\nok\n</think>');
  });
});

describe('the LFM2 chat template', () => {
  const tok = loadTokenizer(lfm2Tokenizer().dir);

  it('renders the BOS, the tool list in the system turn, tool responses in their tags and the generation prompt', () => {
    const text = new Template(LFM2_CHAT).render({
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'tool', content: '42' }],
      tools: [{ name: 'a' }, { name: 'b' }], add_generation_prompt: true, bos_token: '<|startoftext|>',
    });
    expect(text).toBe('<|startoftext|><|im_start|>system\nBe brief.\nList of tools: <|tool_list_start|>[{"name": "a"}, {"name": "b"}]<|tool_list_end|><|im_end|>\n' +
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>tool\n<|tool_response_start|>42<|tool_response_end|><|im_end|>\n<|im_start|>assistant\n');
    const ids = tok.encodeChat([{ role: 'user', content: 'Hi' }] as ChatMessage[]);
    expect(ids[0]).toBe(tok.bosTokenId);
    expect(ids.filter((id) => id === tok.bosTokenId)).toHaveLength(1); // the template's BOS, not a second one
    expect(tok.eosTokenId).toBe(tok.tokenToId('<|im_end|>'));
  });
});

/** Trains a LoRA on the Q/A pairs and checks the tuned model answers and stops on <|im_end|> (the base does not). */
async function tunedAnswers(config: Record<string, unknown>, t: HybridTokenizer, lr: number, epochs: number): Promise<void> {
  const model = familyModelDir({ config, tokenizerDir: t.dir, seed: 5 });
  const dir = tempDir();
  const data = writeJsonl(path.join(dir, 'train.jsonl'), Array.from({ length: 4 }, (_, i) => ({
    messages: [{ role: 'user', content: QA[i % 2][0] }, { role: 'assistant', content: QA[i % 2][1] }],
  })));
  const res = await runTraining({
    config: {
      ...TRAIN_DEFAULTS, model, data, out: path.join(dir, 'run'), batchTokens: 256, loraDropout: 0, learningRate: lr,
      epochs, warmupRatio: 0, loraR: 16, loraAlpha: 32, valSplit: 0,
    },
  });
  expect(res.state.lastTrainLoss!).toBeLessThan(0.2);
  const base = openModel(model);
  const imEnd = t.ids['<|im_end|>'];
  expect(base.endIds).toContain(imEnd);
  const saved = JSON.parse(fs.readFileSync(path.join(res.adapterDir, 'shitate.json'), 'utf8')) as { chat_template_kwargs?: Record<string, unknown> };
  const vars = saved.chat_template_kwargs ?? {};
  const ask = async (m: typeof base, q: string) => generateText(m, chatPrompt(m.tokenizer, [{ role: 'user', content: q }], vars), { maxNewTokens: 40, temperature: 0 });
  expect((await ask(base, QA[0][0])).text).not.toContain(QA[0][1]);
  const tuned = openModel(model, { adapter: res.adapterDir });
  for (const [q, a] of QA) {
    const r = await ask(tuned, q);
    expect(r.text).toContain(a);
    expect(r.finishReason).toBe('stop');
    expect(r.tokens[r.tokens.length - 1]).toBe(imEnd);
  }
}

describe('tuned tiny hybrid models with their chat templates', () => {
  it('Qwen3.5 answers as trained and stops on <|im_end|>', async () => {
    const t = qwen35Tokenizer();
    await tunedAnswers({
      architectures: ['Qwen3_5ForCausalLM'], model_type: 'qwen3_5_text', vocab_size: t.vocabSize, hidden_size: 64, intermediate_size: 128,
      num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, linear_num_key_heads: 2,
      linear_num_value_heads: 4, linear_key_head_dim: 16, linear_value_head_dim: 16, linear_conv_kernel_dim: 4,
      rope_parameters: { rope_type: 'default', rope_theta: 10000000, partial_rotary_factor: 0.25 }, max_position_embeddings: 512,
      eos_token_id: t.ids['<|im_end|>'], tie_word_embeddings: true, dtype: 'float32',
    }, t, 1e-2, 40);
  });

  it('LFM2 answers as trained and stops on <|im_end|>', async () => {
    const t = lfm2Tokenizer();
    await tunedAnswers({
      architectures: ['Lfm2ForCausalLM'], model_type: 'lfm2', vocab_size: t.vocabSize, hidden_size: 64, block_ff_dim: 192,
      block_multiple_of: 32, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2,
      layer_types: ['conv', 'conv', 'full_attention', 'conv'], conv_L_cache: 3, norm_eps: 1e-5, theta: 1000000, max_position_embeddings: 512,
      bos_token_id: t.ids['<|startoftext|>'], eos_token_id: t.ids['<|im_end|>'], pad_token_id: t.ids['<|pad|>'], tie_embedding: true,
    }, t, 1e-2, 40);
  });
});
