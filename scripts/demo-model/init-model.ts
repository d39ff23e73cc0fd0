// The randomly initialised starting point of shitate-mini: a Llama config sized for fast CPU fine-tuning,
// GPT-2-style initialisation (std 0.02, residual outputs scaled by 1/sqrt(2L)) from a fixed seed.
import fs from 'node:fs';
import path from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../../src/io/safetensors.js';

export interface MiniShape {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  maxPositions: number;
}

export const MINI_SHAPE: MiniShape = { hidden: 256, layers: 6, heads: 4, kvHeads: 2, intermediate: 768, maxPositions: 512 };

/** Seeded normal samples (xorshift32 + Box-Muller): the same seed gives the same weights everywhere. */
export function normals(n: number, seed: number, std: number): Float32Array {
  let x = (seed * 2654435761) >>> 0 || 1;
  const uniform = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return (x + 1) / 4294967297; // (0, 1)
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const a = 2 * Math.PI * uniform();
    out[i] = std * r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = std * r * Math.sin(a);
  }
  return out;
}

/** Writes config.json, generation_config.json and random model.safetensors (F32) into `dir`; the
 *  tokenizer files are copied from `tokenizerDir`. Returns the parameter count. */
export function writeInitialModel(dir: string, tokenizerDir: string, s: MiniShape, seed: number): number {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(tokenizerDir, f), path.join(dir, f));
  const tok = JSON.parse(fs.readFileSync(path.join(tokenizerDir, 'tokenizer.json'), 'utf8')) as { added_tokens: { id: number; content: string }[]; model: { vocab: Record<string, number> } };
  const vocab = Math.max(...Object.values(tok.model.vocab), ...tok.added_tokens.map((t) => t.id)) + 1;
  const idOf = (s: string) => tok.added_tokens.find((t) => t.content === s)!.id;
  const eos = idOf('<|im_end|>');
  const D = s.hidden / s.heads;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: s.hidden, intermediate_size: s.intermediate,
    num_hidden_layers: s.layers, num_attention_heads: s.heads, num_key_value_heads: s.kvHeads, head_dim: D, vocab_size: vocab,
    max_position_embeddings: s.maxPositions, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true,
    hidden_act: 'silu', attention_bias: false, mlp_bias: false, bos_token_id: null, eos_token_id: eos, pad_token_id: idOf('<|endoftext|>'),
    torch_dtype: 'float32',
  }, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: eos, pad_token_id: idOf('<|endoftext|>') }, null, 2) + '\n');
  let n = seed * 1000;
  let count = 0;
  const resid = 0.02 / Math.sqrt(2 * s.layers);
  const t = (name: string, shape: number[], std: number | 'ones'): TensorToWrite => {
    const size = shape.reduce((a, b) => a * b, 1);
    count += size;
    return { name, shape, dtype: 'F32', data: std === 'ones' ? new Float32Array(size).fill(1) : normals(size, n++, std) };
  };
  const [C, F, H, Hkv] = [s.hidden, s.intermediate, s.heads, s.kvHeads];
  const tensors = [t('model.embed_tokens.weight', [vocab, C], 0.02), t('model.norm.weight', [C], 'ones')];
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    tensors.push(t(`${p}.input_layernorm.weight`, [C], 'ones'), t(`${p}.post_attention_layernorm.weight`, [C], 'ones'),
      t(`${p}.self_attn.q_proj.weight`, [H * D, C], 0.02), t(`${p}.self_attn.k_proj.weight`, [Hkv * D, C], 0.02),
      t(`${p}.self_attn.v_proj.weight`, [Hkv * D, C], 0.02), t(`${p}.self_attn.o_proj.weight`, [C, H * D], resid),
      t(`${p}.mlp.gate_proj.weight`, [F, C], 0.02), t(`${p}.mlp.up_proj.weight`, [F, C], 0.02),
      t(`${p}.mlp.down_proj.weight`, [C, F], resid));
  }
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  return count;
}
