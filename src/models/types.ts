// The contract between a model family and everything above models/: the parsed config, the forward
// input/output, and the CausalLM interface that training, LoRA, generation, saving and serving use.
// Legend: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim, F ffn, V vocab, L layers.
import type { Tensor } from '../tensor/index.js';
import type { Linear } from './linear.js';
import type { KVCache, KvCacheFormat } from './kv-cache.js';

export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }
  /** YaRN as transformers 5 computes it: `factor` already replaced by max_position_embeddings /
   *  original_max_position_embeddings when the latter is given; cos/sin are multiplied by attentionFactor */
  | { type: 'yarn'; factor: number; originalMaxPositions: number; attentionFactor: number; betaFast: number; betaSlow: number; truncate: boolean };

/** config.json in the engine's terms (camelCase, defaults applied). HF field names stop in the family files;
 *  the block knobs below are data the shared decoder reads, so most families need no forward of their own. */
export interface ModelConfig {
  /** config.json's model_type (a registry key or one of its aliases) */
  modelType: string;
  hiddenSize: number; // C
  intermediateSize: number; // F
  numLayers: number; // L
  numHeads: number; // H
  numKvHeads: number; // Hkv
  headDim: number; // D
  vocabSize: number; // V
  maxPositions: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  tieWordEmbeddings: boolean;
  /** Attention window in tokens for the layers marked 'sliding' in layerTypes; null when no layer slides. */
  slidingWindow: number | null;
  /** Per layer: full causal attention or sliding-window attention ([L]). */
  layerTypes: ('full' | 'sliding')[];
  /** Per layer: rotary embedding on q and k; false marks a NoPE layer (SmolLM3) ([L]). */
  ropeLayers: boolean[];
  /** Bias on q/k/v projections (qwen2 always; llama-style families when attention_bias). */
  attentionBias: boolean;
  /** Bias on o_proj (llama-style attention_bias; never qwen2 or mistral). */
  attentionOutBias: boolean;
  /** Bias on gate/up/down projections (mlp_bias). */
  mlpBias: boolean;
  /** Per-head RMSNorm of q and k over D before RoPE (Qwen3 q_norm / k_norm). */
  qkNorm: boolean;
  /** Token embeddings are multiplied by this (Granite embedding_multiplier; 1 elsewhere). */
  embeddingMultiplier: number;
  /** Attention score scale; null = 1/sqrt(D) (Granite attention_multiplier). */
  attentionScale: number | null;
  /** Each block's output is multiplied by this before the residual add (Granite residual_multiplier). */
  residualMultiplier: number;
  /** Logits are divided by this (Granite logits_scaling; 1 elsewhere). */
  logitsScaling: number;
  /** the MLP's activation: SiLU (SwiGLU) or GELU (Gemma's GeGLU: exact, or the tanh form gelu_pytorch_tanh) */
  hiddenAct: 'silu' | 'gelu' | 'gelu_pytorch_tanh';
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** Dtype the weights were saved in ("bfloat16", "float16", "float32"), when the config says. */
  torchDtype: string | null;
}

export interface ForwardInput {
  /** token ids [B*T] */
  ids: Int32Array;
  batch: number;
  seqLen: number;
  /** absolute position per token [B*T]; default cache length + t (restarts per packed segment are given here) */
  positions?: Int32Array;
  /** segment id per token [B*T] for packed sequences: attention never crosses segments */
  segments?: Int32Array | null;
  cache?: KVCache | null;
  /** next-token targets aligned with ids [B*T] (-100 = no loss); see shiftLabels for HF-style labels */
  targets?: Int32Array;
  /** divide the summed loss by this instead of this batch's target count (gradient accumulation) */
  lossNormalizer?: number;
  /** with targets: return each row's summed target log-probability (sequenceLogps, [B]) instead of the loss */
  sequenceLogps?: boolean;
  /** which logits to return: every position, the last one of each row, or none (default: all without
   *  targets, none with targets) */
  logits?: 'all' | 'last' | 'none';
}

export interface ForwardOutput {
  /** [B, T, V] for 'all', [B, 1, V] for 'last' */
  logits: Tensor | null;
  /** scalar mean cross-entropy over targets, when targets were given */
  loss: Tensor | null;
  /** [B] summed log-probabilities of each row's targets, when the input asked for sequenceLogps */
  sequenceLogps?: Tensor | null;
}

/** A weight under its Hugging Face name. */
export interface NamedTensor {
  name: string;
  tensor: Tensor;
}

/** A loaded causal language model of any family. Everything above models/ depends on this, never on a family. */
export interface CausalLM {
  readonly config: ModelConfig;
  forward(input: ForwardInput): ForwardOutput;
  /** Every linear layer LoRA can target, in a stable model order, named by HF module path
   *  ("model.layers.0.self_attn.q_proj"). Adapters plug into Linear.adapter; merge fuses into Linear.weight. */
  linears(): Linear[];
  /** Every weight under its HF name, each tensor once (a tied LM head appears as the embedding only), in
   *  parameter-table order: what a saved or merged folder holds and what full fine-tuning trains. */
  namedWeights(): NamedTensor[];
  /** A cache for `batch` rows of up to `capacity` positions, laid out as this model's layers need; keys and values
   *  in `format` (default: the process's, kvCacheFormat()). */
  createCache(batch: number, capacity: number, format?: KvCacheFormat): KVCache;
}
