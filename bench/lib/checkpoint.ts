// Random checkpoints of real model shapes (SmolLM2-135M, Qwen3-0.6B, Gemma-3-1B, Phi-4-mini, Qwen3.5-0.8B, LFM2-1.2B; BF16 weights) written once into
// the git-ignored bench/.cache and reused, so shitate and the PyTorch reference read the very same file. The
// tensors are the family's parameter table for the config; weights ~ N(0, 0.02), norms 1 (HF's init; an arch may
// set its own values where HF initialises otherwise, e.g. Qwen3.5's (1 + w) norms at 0 and its decay parameters).
import fs from 'node:fs';
import path from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../../src/io/index.js';
import { parameterTable, parseModelConfig, tableTensors } from '../../src/models/index.js';
import { hash32 } from '../../src/kernels/rng.js';
import { CACHE_DIR } from './harness.js';

const SEED = 20240611;
const FORMAT = 2; // bump when the generator changes, so stale caches are rebuilt
const MARKER = 'bench-checkpoint.json';

export const SMOLLM2_135M = {
  hidden: 576, // C
  intermediate: 1536, // F
  layers: 30, // L
  heads: 9, // H
  kvHeads: 3, // Hkv (D = 64)
  vocab: 49152, // V
};

/** Bench architectures: config.json of the real model (from its Hub page) with `layers` layers. */
export const ARCHS: Record<string, {
  label: string; layers: number; config: (layers: number) => Record<string, unknown>;
  /** HF's initial value of a tensor where it is not N(0, 0.02) / norms 1: fills `data` and returns true */
  init?: (name: string, data: Float32Array) => boolean;
}> = {
  smollm2: {
    label: 'SmolLM2-135M',
    layers: SMOLLM2_135M.layers,
    config: (layers) => ({
      architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_act: 'silu',
      hidden_size: SMOLLM2_135M.hidden, intermediate_size: SMOLLM2_135M.intermediate, num_hidden_layers: layers,
      num_attention_heads: SMOLLM2_135M.heads, num_key_value_heads: SMOLLM2_135M.kvHeads, vocab_size: SMOLLM2_135M.vocab,
      max_position_embeddings: 2048, rms_norm_eps: 1e-5, rope_theta: 100000, rope_scaling: null,
      tie_word_embeddings: true, attention_bias: false, mlp_bias: false,
      bos_token_id: 0, eos_token_id: 0, torch_dtype: 'bfloat16',
    }),
  },
  qwen3: {
    label: 'Qwen3-0.6B',
    layers: 28,
    config: (layers) => ({
      architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', attention_bias: false, bos_token_id: 151643, eos_token_id: 151645,
      head_dim: 128, hidden_act: 'silu', hidden_size: 1024, intermediate_size: 3072, max_position_embeddings: 40960,
      max_window_layers: 28, num_attention_heads: 16, num_hidden_layers: layers, num_key_value_heads: 8, rms_norm_eps: 1e-6,
      rope_scaling: null, rope_theta: 1000000, sliding_window: null, tie_word_embeddings: true, torch_dtype: 'bfloat16',
      use_sliding_window: false, vocab_size: 151936,
    }),
  },
  gemma3: {
    label: 'Gemma-3-1B',
    layers: 26,
    config: (layers) => ({
      architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', attention_bias: false, attn_logit_softcapping: null,
      bos_token_id: 2, eos_token_id: [1, 106], final_logit_softcapping: null, head_dim: 256, hidden_activation: 'gelu_pytorch_tanh',
      hidden_size: 1152, intermediate_size: 6912, max_position_embeddings: 32768, num_attention_heads: 4, num_hidden_layers: layers,
      num_key_value_heads: 1, pad_token_id: 0, query_pre_attn_scalar: 256, rms_norm_eps: 1e-6, rope_local_base_freq: 10000,
      rope_scaling: null, rope_theta: 1000000, sliding_window: 512, sliding_window_pattern: 6, tie_word_embeddings: true,
      torch_dtype: 'bfloat16', vocab_size: 262144,
    }),
  },
  phi3: {
    label: 'Phi-4-mini',
    layers: 32,
    // LongRoPE factors of the real length (48) with smooth stand-in values: at bench lengths (< 4096) only the short
    // ones apply, and their values do not change the cost
    config: (layers) => ({
      architectures: ['Phi3ForCausalLM'], model_type: 'phi3', bos_token_id: 199999, eos_token_id: 199999, hidden_act: 'silu',
      hidden_size: 3072, intermediate_size: 8192, max_position_embeddings: 131072, num_attention_heads: 24, num_hidden_layers: layers,
      num_key_value_heads: 8, original_max_position_embeddings: 4096, pad_token_id: 199999, partial_rotary_factor: 0.75,
      rms_norm_eps: 1e-5, rope_theta: 10000, sliding_window: 262144, tie_word_embeddings: true, torch_dtype: 'bfloat16',
      rope_scaling: { type: 'longrope', short_factor: Array.from({ length: 48 }, (_, i) => 1 + i / 48), long_factor: Array.from({ length: 48 }, (_, i) => 1 + i) },
      vocab_size: 200064,
    }),
  },
  qwen3_5: {
    label: 'Qwen3.5-0.8B',
    layers: 24,
    // the language model of Qwen3.5-0.8B (text_config), three Gated DeltaNet layers to one gated attention layer
    config: (layers) => ({
      architectures: ['Qwen3_5ForCausalLM'], model_type: 'qwen3_5_text', attention_bias: false, attn_output_gate: true, bos_token_id: null,
      eos_token_id: 248044, full_attention_interval: 4, head_dim: 256, hidden_act: 'silu', hidden_size: 1024, intermediate_size: 3584,
      linear_conv_kernel_dim: 4, linear_key_head_dim: 128, linear_num_key_heads: 16, linear_num_value_heads: 16, linear_value_head_dim: 128,
      max_position_embeddings: 262144, num_attention_heads: 8, num_hidden_layers: layers, num_key_value_heads: 2, rms_norm_eps: 1e-6,
      rope_parameters: { mrope_interleaved: true, mrope_section: [11, 11, 10], partial_rotary_factor: 0.25, rope_theta: 10000000, rope_type: 'default' },
      tie_word_embeddings: true, dtype: 'bfloat16', vocab_size: 248320,
    }),
    // Qwen3_5PreTrainedModel._init_weights: (1 + w) norms 0, dt_bias 1, A_log = log(U(0.01, 16)); the gated norm stays 1
    init: (name, data) => {
      if (/(layernorm|q_norm|k_norm)\.weight$|^model\.norm\.weight$/.test(name)) data.fill(0);
      else if (name.endsWith('.dt_bias')) data.fill(1);
      else if (name.endsWith('.A_log')) data.forEach((_, i) => { data[i] = Math.log(0.01 + 15.99 * (hash32(SEED + 1, i) / 4294967296)); });
      else return false;
      return true;
    },
  },
  lfm2: {
    label: 'LFM2-1.2B',
    layers: 16,
    // LFM2-1.2B's config.json (original keys), attention at layers 2, 5, 8, 10, 12, 14 of 16
    config: (layers) => ({
      architectures: ['Lfm2ForCausalLM'], model_type: 'lfm2', block_auto_adjust_ff_dim: true, block_ff_dim: 12288, block_ffn_dim_multiplier: 1,
      block_multiple_of: 256, bos_token_id: 1, conv_L_cache: 3, conv_bias: false, eos_token_id: 7, hidden_size: 2048,
      full_attn_idxs: [2, 5, 8, 10, 12, 14].filter((i) => i < layers), max_position_embeddings: 128000, norm_eps: 1e-5, num_attention_heads: 32,
      num_hidden_layers: layers, num_key_value_heads: 8, pad_token_id: 0, rope_theta: 1000000, tie_embedding: true, torch_dtype: 'bfloat16',
      vocab_size: 65536,
    }),
  },
};

/** Box-Muller over the counter-based hash: N(0, std^2) values that depend only on (seed, index). */
export function fillNormal(out: Float32Array, seed: number, std: number): void {
  for (let i = 0; i < out.length; i += 2) {
    const u1 = (hash32(seed, i) + 0.5) / 4294967296; // (0, 1): log is finite
    const u2 = hash32(seed, i + 1) / 4294967296;
    const r = std * Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
}

/** n token ids in [1, V) from a seed (0 is SmolLM2's bos/eos, kept out of prompts). */
export function randomIds(n: number, V: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => 1 + (hash32(seed, i) % (V - 1)));
}

function tensorList(config: Record<string, unknown>, init?: (name: string, data: Float32Array) => boolean): TensorToWrite[] {
  return tableTensors(parameterTable(parseModelConfig(config))).map(({ name, shape }, i) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const own = init?.(name, data) ?? false; // the arch's own initial value
    if (!own && /norm\.weight$/.test(name)) data.fill(1);
    else if (!own) fillNormal(data, hash32(SEED, i), 0.02);
    return { name, shape: [...shape], dtype: 'BF16' as const, data };
  });
}

/** The folder of the random `arch` checkpoint with `layers` layers (default: the real model's), generated on
 *  first use. */
export function ensureRandomCheckpoint(layers?: number, arch = 'smollm2'): string {
  const a = ARCHS[arch];
  if (!a) throw new Error(`unknown --arch ${arch}; expected one of ${Object.keys(ARCHS).join(', ')}`);
  const L = layers ?? a.layers;
  const base = `${a.label.toLowerCase()}-random`;
  const dir = path.join(CACHE_DIR, L === a.layers ? base : `${base}-l${L}`);
  const want = JSON.stringify({ format: FORMAT, seed: SEED, arch, layers: L });
  const marker = path.join(dir, MARKER);
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === want) return dir;
  const t0 = performance.now();
  process.stderr.write(`writing random ${a.label}-shaped checkpoint (${L} layers) to ${dir} ...\n`);
  // build beside the target and rename, so an interrupted run never leaves a half-written cache behind
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const config = a.config(L);
  fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(config, null, 2));
  fs.writeFileSync(path.join(tmp, 'generation_config.json'), JSON.stringify({ bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id }, null, 2));
  writeSafetensors(path.join(tmp, 'model.safetensors'), tensorList(config, a.init), { format: 'pt' });
  fs.writeFileSync(path.join(tmp, MARKER), want);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  process.stderr.write(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return dir;
}
