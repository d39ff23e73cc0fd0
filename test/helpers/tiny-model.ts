// Builds a complete tiny Llama model folder for tests: a byte-level BPE tokenizer trained here (offline,
// with the `tokenizers` binding) on a small English/Japanese corpus, a ChatML template, and random
// weights sized to that vocabulary. Folders are cached per process under the OS temp dir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { everyByte, trainBpe } from './bpe.js';
import { Rng } from '../../src/kernels/rng.js';

export const CHATML = String.raw`{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`;

const CORPUS = [
  'Our return policy allows refunds within 30 days. Please keep the receipt.',
  'The office is open from 9 am to 6 pm on weekdays. Contact support by e-mail.',
  '弊社の返品ポリシーについて教えてください。返品は30日以内に受け付けております。',
  '営業時間は平日9時から18時です。お問い合わせはメールでお願いします。',
  'What is the capital of France? Paris. How do I reset my password? Use the link.',
];

export interface TinyModelOptions {
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  intermediate?: number;
  seed?: number;
  /** weight scale of the random init */
  std?: number;
  /** embedding scale: large enough that logits can become sharp over the whole vocabulary */
  embedStd?: number;
}

function randn(n: number, seed: number, std: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => std * r.normal());
}

function writeTokenizer(dir: string): { vocab: number; eos: number; pad: number } {
  const t = trainBpe(dir, `${CORPUS.join('\n').repeat(10)}\n${everyByte()}\n`, { specials: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] });
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({
    eos_token: '<|im_end|>', pad_token: '<|endoftext|>', bos_token: null, chat_template: CHATML,
  }));
  return { vocab: t.getVocabSize(true), eos: t.tokenToId('<|im_end|>')!, pad: t.tokenToId('<|endoftext|>')! };
}

const cache = new Map<string, string>();

/** A ready model folder (cached per options within one test process). Never modify it in a test. */
export function tinyModelDir(o: TinyModelOptions = {}): string {
  const key = JSON.stringify(o);
  const hit = cache.get(key);
  if (hit) return hit;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-tiny-'));
  const { vocab, eos } = writeTokenizer(dir);
  const [C, L, H, Hkv, F] = [o.hidden ?? 32, o.layers ?? 2, o.heads ?? 4, o.kvHeads ?? 2, o.intermediate ?? 64];
  const D = C / H;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: C, intermediate_size: F, num_hidden_layers: L,
    num_attention_heads: H, num_key_value_heads: Hkv, vocab_size: vocab, max_position_embeddings: 512, rms_norm_eps: 1e-5,
    rope_theta: 10000, tie_word_embeddings: true, hidden_act: 'silu', eos_token_id: eos, torch_dtype: 'float32',
  }));
  fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: eos }));
  const std = o.std ?? 0.08;
  let s = o.seed ?? 1;
  const t = (name: string, shape: number[], ones = false, sd = std) => ({
    name, shape, dtype: 'F32' as const,
    data: ones ? new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1) : randn(shape.reduce((a, b) => a * b, 1), s++, sd),
  });
  const tensors = [t('model.embed_tokens.weight', [vocab, C], false, o.embedStd ?? 0.5), t('model.norm.weight', [C], true)];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}`;
    tensors.push(t(`${p}.input_layernorm.weight`, [C], true), t(`${p}.post_attention_layernorm.weight`, [C], true),
      t(`${p}.self_attn.q_proj.weight`, [H * D, C]), t(`${p}.self_attn.k_proj.weight`, [Hkv * D, C]),
      t(`${p}.self_attn.v_proj.weight`, [Hkv * D, C]), t(`${p}.self_attn.o_proj.weight`, [C, H * D]),
      t(`${p}.mlp.gate_proj.weight`, [F, C]), t(`${p}.mlp.up_proj.weight`, [F, C]), t(`${p}.mlp.down_proj.weight`, [C, F]));
  }
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  cache.set(key, dir);
  return dir;
}

export function tempDir(prefix = 'shitate-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeJsonl(file: string, rows: unknown[]): string {
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}
