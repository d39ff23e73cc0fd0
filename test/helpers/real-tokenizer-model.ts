// A tiny random-weight Llama model folder around a real tokenizer from node_modules (or any tokenizer
// folder): the tokenizer files are linked, the embedding sized to the tokenizer or to a given vocab_size.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { Rng } from '../../src/kernels/rng.js';

export interface AroundOptions {
  /** the model's vocab_size (default: the tokenizer's highest id + 1) */
  vocabSize?: number;
  hidden?: number;
  seed?: number;
}

function highestId(tokenizerFile: string): number {
  const json = JSON.parse(fs.readFileSync(tokenizerFile, 'utf8')) as { model: { vocab: Record<string, number> | [string, number][] }; added_tokens: { id: number }[] };
  let max = 0;
  const vocab = json.model.vocab;
  if (Array.isArray(vocab)) max = vocab.length - 1;
  else for (const id of Object.values(vocab)) if (id > max) max = id;
  for (const t of json.added_tokens) if (t.id > max) max = t.id;
  return max;
}

/** A model folder: tokenizer files of `tokDir` linked in, random weights, eos from tokenizer_config. */
export function modelAround(tokDir: string, eosToken: string, o: AroundOptions = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-around-'));
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja']) {
    if (fs.existsSync(path.join(tokDir, f))) fs.symlinkSync(path.resolve(tokDir, f), path.join(dir, f));
  }
  const V = o.vocabSize ?? highestId(path.join(tokDir, 'tokenizer.json')) + 1;
  const vocab = JSON.parse(fs.readFileSync(path.join(tokDir, 'tokenizer.json'), 'utf8')) as { added_tokens: { id: number; content: string }[] };
  const eos = vocab.added_tokens.find((t) => t.content === eosToken)?.id ?? 0;
  const [C, F, H, Hkv, L] = [o.hidden ?? 8, 16, 2, 1, 1];
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: C, intermediate_size: F, num_hidden_layers: L,
    num_attention_heads: H, num_key_value_heads: Hkv, vocab_size: V, max_position_embeddings: 256, rms_norm_eps: 1e-5,
    rope_theta: 10000, tie_word_embeddings: true, hidden_act: 'silu', eos_token_id: eos, torch_dtype: 'float32',
  }));
  fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: eos }));
  const rng = new Rng(o.seed ?? 3);
  const t = (name: string, shape: number[], ones = false) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return { name, shape, dtype: 'F32' as const, data: ones ? new Float32Array(n).fill(1) : Float32Array.from({ length: n }, () => 0.1 * rng.normal()) };
  };
  const D = C / H;
  writeSafetensors(path.join(dir, 'model.safetensors'), [
    t('model.embed_tokens.weight', [V, C]), t('model.norm.weight', [C], true),
    t('model.layers.0.input_layernorm.weight', [C], true), t('model.layers.0.post_attention_layernorm.weight', [C], true),
    t('model.layers.0.self_attn.q_proj.weight', [H * D, C]), t('model.layers.0.self_attn.k_proj.weight', [Hkv * D, C]),
    t('model.layers.0.self_attn.v_proj.weight', [Hkv * D, C]), t('model.layers.0.self_attn.o_proj.weight', [C, H * D]),
    t('model.layers.0.mlp.gate_proj.weight', [F, C]), t('model.layers.0.mlp.up_proj.weight', [F, C]), t('model.layers.0.mlp.down_proj.weight', [C, F]),
  ]);
  return dir;
}
