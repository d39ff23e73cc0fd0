// One entry per model family llama.cpp runs: its general.architecture, the HF -> GGUF tensor names, the
// hyper-parameters as llama.cpp's loader reads them (convert_hf_to_gguf.py writes the same keys), the RoPE
// layout (llama-style archs want q/k rows permuted to interleaved pairs) and what its graph lacks.
import { ShitateError } from '../errors.js';
import type { ModelConfig } from '../models/index.js';
import type { GgufMetadata } from './gguf-writer.js';
import { GEMMA_ARCHS } from './gguf-arch-gemma.js';
import { PHI3_ARCHS } from './gguf-arch-phi3.js';
import { LN_ARCHS } from './gguf-arch-ln.js';
import { HYBRID_ARCHS } from './gguf-arch-hybrid.js';

export interface GgufArch {
  /** general.architecture */
  arch: string;
  /** llama.cpp rotates adjacent pairs (LLAMA_ROPE_TYPE_NORM): q/k rows are permuted from HF's half split */
  permuteQK: boolean;
  /** llama.cpp reads the vocab size and rope dimension keys for this arch (convert's LlamaModel writes them) */
  llamaKeys: boolean;
  /** refuses configurations the llama.cpp graph of this arch cannot run */
  check(c: ModelConfig): void;
  /** arch-specific keys beyond the shared ones */
  extra(c: ModelConfig): GgufMetadata;
  /** HF name parts this arch names differently from the llama map (Gemma's four norms) */
  names?: Readonly<Record<string, string>>;
  /** added to every "*norm.weight" (Gemma stores w of an RMSNorm that multiplies by 1 + w; llama.cpp wants 1 + w) */
  normShift?: number;
  /** what the GGUF leaves out of the checkpoint (a multimodal model's vision tower), for the export notes */
  leavesOut?(c: ModelConfig): string | null;
  /** llama.cpp's graph for this arch honours the sliding window (else it attends over the whole context) */
  slidingWindow?: boolean;
  /** what llama.cpp does differently for this config, for the export notes */
  caveat?(c: ModelConfig): string | null;
  /** tensors computed from the config, written before the checkpoint's (RoPE frequency factors) */
  generated?(c: ModelConfig): GeneratedTensor[];
  /** LayerNorm models: the epsilon goes under attention.layer_norm_epsilon (else layer_norm_rms_epsilon) */
  layerNorm?: boolean;
  /** for a tensor whose rows llama.cpp wants in another order (a fused qkv regrouped), out row i = in row order[i] */
  rowOrder?(hf: string, c: ModelConfig): Int32Array | null;
  /** HF tensors stored with size-1 dimensions llama.cpp does not have (a depthwise conv's [C, 1, K]) */
  squeeze?: RegExp;
  /** for a matrix whose columns llama.cpp wants in another order: out column j = in column order[j] */
  colOrder?(hf: string, c: ModelConfig): Int32Array | null;
  /** the checkpoint tensor's values as llama.cpp wants them (beyond row order and norm shifts) */
  transform?(hf: string, x: Float32Array, c: ModelConfig): Float32Array;
  /** GGUF names this arch gives outside the shared scheme (tensors without a .weight / .bias suffix) */
  rename?(hf: string): string | null;
}

export interface GeneratedTensor {
  name: string;
  values: Float32Array;
}

export function refuse(c: ModelConfig, what: string): never {
  throw new ShitateError('E_EXPORT_UNSUPPORTED', `gguf: llama.cpp's "${c.modelType}" graph has no ${what}, found it in this config`,
    'export to GGUF is refused rather than written wrong; serve this model with `shitate serve` or vLLM instead');
}

function plain(c: ModelConfig, { attnBias = false, outBias = false, mlpBias = false } = {}): void {
  if (c.attentionBias && !attnBias) refuse(c, 'q/k/v projection bias');
  if (c.attentionOutBias && !outBias) refuse(c, 'o_proj bias');
  if (c.mlpBias && !mlpBias) refuse(c, 'MLP bias');
  if (c.qkNorm) refuse(c, 'q/k RMSNorm');
  if (c.embeddingMultiplier !== 1 || c.residualMultiplier !== 1 || c.logitsScaling !== 1 || c.attentionScale !== null) {
    refuse(c, 'embedding/residual/attention/logit multipliers');
  }
  if (c.ropeLayers.some((r) => !r)) refuse(c, 'layers without RoPE (NoPE)');
  if (c.hiddenAct !== 'silu') refuse(c, `${c.hiddenAct} MLP activation`);
}

const f32 = (value: number) => ({ type: 'f32' as const, value });

/** model_type -> its llama.cpp architecture. */
export const GGUF_ARCHS: Readonly<Record<string, GgufArch>> = {
  llama: { arch: 'llama', permuteQK: true, llamaKeys: true, check: (c) => plain(c, { attnBias: true, outBias: true, mlpBias: true }), extra: () => [] },
  // Mistral checkpoints convert as llama (convert_hf_to_gguf registers MistralForCausalLM on LlamaModel)
  mistral: { arch: 'llama', permuteQK: true, llamaKeys: true, check: (c) => plain(c), extra: () => [] },
  qwen2: { arch: 'qwen2', permuteQK: false, llamaKeys: false, check: (c) => plain(c, { attnBias: true }), extra: () => [] },
  qwen3: {
    arch: 'qwen3', permuteQK: false, llamaKeys: false,
    check: (c) => plain({ ...c, qkNorm: false }),
    extra: () => [],
  },
  smollm3: {
    arch: 'smollm3', permuteQK: true, llamaKeys: true,
    // llama.cpp hard-codes every 4th layer as NoPE (n_no_rope_layer_step = 4)
    check: (c) => {
      if (c.ropeLayers.some((r, i) => r !== ((i + 1) % 4 !== 0))) refuse(c, 'NoPE pattern other than every 4th layer');
      plain({ ...c, ropeLayers: c.ropeLayers.map(() => true) });
    },
    extra: () => [],
  },
  granite: {
    arch: 'granite', permuteQK: true, llamaKeys: true,
    check: (c) => {
      // convert drops head_dim for Granite: llama.cpp derives it as hidden / heads
      if (c.headDim * c.numHeads !== c.hiddenSize) refuse(c, `head_dim other than hidden_size / heads (${c.headDim})`);
      plain({ ...c, embeddingMultiplier: 1, residualMultiplier: 1, logitsScaling: 1, attentionScale: null });
    },
    extra: (c) => [
      ['granite.attention.scale', f32(c.attentionScale ?? 1 / Math.sqrt(c.headDim))],
      ['granite.embedding_scale', f32(c.embeddingMultiplier)],
      ['granite.residual_scale', f32(c.residualMultiplier)],
      ['granite.logit_scale', f32(c.logitsScaling)],
    ],
  },
};

/** The GGUF arch of a parsed config, or a refusal naming the families that export. */
export function ggufArchOf(c: ModelConfig): GgufArch {
  const all = [GGUF_ARCHS, GEMMA_ARCHS, PHI3_ARCHS, LN_ARCHS, HYBRID_ARCHS];
  const a = all.map((table) => table[c.modelType]).find((x) => x !== undefined);
  if (!a) {
    throw new ShitateError('E_EXPORT_UNSUPPORTED', `gguf: expected a model_type the GGUF export covers (${all.flatMap((t) => Object.keys(t)).join(', ')}), found "${c.modelType}"`,
      'export this model to a Hugging Face folder (`shitate merge`) and serve it with vLLM or `shitate serve`');
  }
  a.check(c);
  return a;
}

const FIXED_NAMES: Readonly<Record<string, string>> = {
  'model.embed_tokens.weight': 'token_embd.weight',
  'model.norm.weight': 'output_norm.weight',
  'lm_head.weight': 'output.weight',
  // BLOOM / Falcon (transformer.*); LFM2 keeps its final norm as embedding_norm, llama.cpp as token_embd_norm
  'transformer.word_embeddings.weight': 'token_embd.weight',
  'transformer.word_embeddings_layernorm.weight': 'token_embd_norm.weight',
  'transformer.word_embeddings_layernorm.bias': 'token_embd_norm.bias',
  'transformer.ln_f.weight': 'output_norm.weight',
  'transformer.ln_f.bias': 'output_norm.bias',
  'model.embedding_norm.weight': 'token_embd_norm.weight',
};

const PART_NAMES: Readonly<Record<string, string>> = {
  input_layernorm: 'attn_norm', post_attention_layernorm: 'ffn_norm',
  'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k', 'self_attn.v_proj': 'attn_v', 'self_attn.o_proj': 'attn_output',
  'self_attn.q_norm': 'attn_q_norm', 'self_attn.k_norm': 'attn_k_norm',
  'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down',
  'self_attention.query_key_value': 'attn_qkv', 'self_attention.dense': 'attn_output',
  'mlp.dense_h_to_4h': 'ffn_up', 'mlp.dense_4h_to_h': 'ffn_down',
};

/** HF tensor name -> GGUF name (llama.cpp's LLM_TENSOR names), with an arch's overrides; a multimodal wrapper's
 *  "model.language_model." decoder reads as "model."; null for a name the arch has no place for. */
export function ggufTensorName(hf: string, names: Readonly<Record<string, string>> = {}): string | null {
  const name = hf.replace(/^model\.language_model\./, 'model.');
  if (FIXED_NAMES[name]) return FIXED_NAMES[name];
  const m = /^(?:model\.layers|transformer\.h)\.(\d+)\.(.+)\.(weight|bias)$/.exec(name);
  if (!m) return null;
  const g = names[m[2]] ?? PART_NAMES[m[2]];
  return g ? `blk.${m[1]}.${g}.${m[3]}` : null;
}

/** LlamaModel.permute: within each head, rows [half 0 | half 1] become interleaved pairs, so llama.cpp's
 *  adjacent-pair RoPE equals HF's rotate_half. x holds `rows` rows of `width` values (width 1 for a bias). */
export function permuteRows(x: Float32Array, heads: number, rows: number, width: number): Float32Array {
  const D = rows / heads;
  const out = new Float32Array(x.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < D / 2; i++) {
      for (let s = 0; s < 2; s++) {
        const from = (h * D + s * (D / 2) + i) * width;
        out.set(x.subarray(from, from + width), (h * D + 2 * i + s) * width);
      }
    }
  }
  return out;
}

/** Rows of `width` values picked in `order` (out row i = in row order[i]). */
export function reorderRows(x: Float32Array, order: Int32Array, width: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < order.length; i++) out.set(x.subarray(order[i] * width, (order[i] + 1) * width), i * width);
  return out;
}

/** Each row's columns picked in `order` (out column j = in column order[j]). x: rows of order.length values. */
export function reorderColumns(x: Float32Array, order: Int32Array): Float32Array {
  const W = order.length;
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / W; r++) for (let j = 0; j < W; j++) out[r * W + j] = x[r * W + order[j]];
  return out;
}

/** The GGUF name of HF tensor `hf` under arch `a`, or null when it has none. */
export function archTensorName(a: GgufArch, hf: string): string | null {
  return a.rename?.(hf) ?? ggufTensorName(hf, a.names);
}

/** Heads whose rows a q/k projection tensor holds (for permuteRows), or null when the tensor is not q/k. */
export function qkHeads(hf: string, c: ModelConfig): number | null {
  if (/\.self_attn\.q_proj\.(weight|bias)$/.test(hf)) return c.numHeads;
  if (/\.self_attn\.k_proj\.(weight|bias)$/.test(hf)) return c.numKvHeads;
  return null;
}
