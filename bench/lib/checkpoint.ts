// A random SmolLM2-135M-shaped Llama checkpoint (BF16 weights, tied embeddings) written once into the
// git-ignored bench/.cache and reused, so shitate and the PyTorch reference read the very same file.
// Shape from HuggingFaceTB/SmolLM2-135M's config.json; weights ~ N(0, 0.02), norms 1 (HF's init).
import fs from 'node:fs';
import path from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../../src/io/index.js';
import { hash32 } from '../../src/kernels/rng.js';
import { CACHE_DIR } from './harness.js';

const SEED = 20240611;
const FORMAT = 1; // bump when the generator changes, so stale caches are rebuilt
const MARKER = 'bench-checkpoint.json';

export const SMOLLM2_135M = {
  hidden: 576, // C
  intermediate: 1536, // F
  layers: 30, // L
  heads: 9, // H
  kvHeads: 3, // Hkv (D = 64)
  vocab: 49152, // V
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

function configJson(layers: number): Record<string, unknown> {
  const s = SMOLLM2_135M;
  return {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_act: 'silu',
    hidden_size: s.hidden, intermediate_size: s.intermediate, num_hidden_layers: layers,
    num_attention_heads: s.heads, num_key_value_heads: s.kvHeads, vocab_size: s.vocab,
    max_position_embeddings: 2048, rms_norm_eps: 1e-5, rope_theta: 100000, rope_scaling: null,
    tie_word_embeddings: true, attention_bias: false, mlp_bias: false,
    bos_token_id: 0, eos_token_id: 0, torch_dtype: 'bfloat16',
  };
}

function tensorList(layers: number): TensorToWrite[] {
  const { hidden: C, intermediate: F, heads: H, kvHeads: Hkv, vocab: V } = SMOLLM2_135M;
  const D = C / H;
  const specs: [string, number[], boolean][] = [['model.embed_tokens.weight', [V, C], true], ['model.norm.weight', [C], false]];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}.`;
    specs.push(
      [`${p}input_layernorm.weight`, [C], false], [`${p}post_attention_layernorm.weight`, [C], false],
      [`${p}self_attn.q_proj.weight`, [H * D, C], true], [`${p}self_attn.k_proj.weight`, [Hkv * D, C], true],
      [`${p}self_attn.v_proj.weight`, [Hkv * D, C], true], [`${p}self_attn.o_proj.weight`, [C, H * D], true],
      [`${p}mlp.gate_proj.weight`, [F, C], true], [`${p}mlp.up_proj.weight`, [F, C], true],
      [`${p}mlp.down_proj.weight`, [C, F], true],
    );
  }
  return specs.map(([name, shape, random], i) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (random) fillNormal(data, hash32(SEED, i), 0.02);
    else data.fill(1);
    return { name, shape, dtype: 'BF16' as const, data };
  });
}

/** The folder of the random checkpoint with `layers` layers, generated on first use. */
export function ensureRandomCheckpoint(layers: number): string {
  const name = layers === SMOLLM2_135M.layers ? 'smollm2-135m-random' : `smollm2-135m-random-l${layers}`;
  const dir = path.join(CACHE_DIR, name);
  const want = JSON.stringify({ format: FORMAT, seed: SEED, layers });
  const marker = path.join(dir, MARKER);
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === want) return dir;
  const t0 = performance.now();
  process.stderr.write(`writing random SmolLM2-135M-shaped checkpoint (${layers} layers) to ${dir} ...\n`);
  // build beside the target and rename, so an interrupted run never leaves a half-written cache behind
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(configJson(layers), null, 2));
  fs.writeFileSync(path.join(tmp, 'generation_config.json'), JSON.stringify({ bos_token_id: 0, eos_token_id: 0 }, null, 2));
  writeSafetensors(path.join(tmp, 'model.safetensors'), tensorList(layers), { format: 'pt' });
  fs.writeFileSync(path.join(tmp, MARKER), want);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  process.stderr.write(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return dir;
}
