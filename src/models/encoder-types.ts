// The contract of the encoder families (BERT, RoBERTa, XLM-RoBERTa, ModernBERT): their parsed config, a batch of
// padded token rows, and the EncoderModel that embedding, classification training and serving use. The sibling
// of CausalLM (types.ts): no generation, hidden states out, and a sequence-classification head.
// Legend: B batch, T tokens, C hidden, H heads, D head dim, F ffn, V vocab, L layers, K labels.
import type { Tensor } from '../tensor/index.js';
import type { Linear } from './linear.js';
import type { NamedTensor } from './types.js';

export type EncoderArch = 'bert' | 'roberta' | 'modernbert';

/** config.json of an encoder in engine terms. HF field names stop in the family files. */
export interface EncoderConfig {
  /** config.json's model_type */
  modelType: string;
  arch: EncoderArch;
  hiddenSize: number; // C
  intermediateSize: number; // F
  numLayers: number; // L
  numHeads: number; // H
  headDim: number; // D
  vocabSize: number; // V
  maxPositions: number;
  /** token type (segment) embeddings; 0 when the family has none (ModernBERT) */
  typeVocabSize: number;
  layerNormEps: number;
  /** GELU of the feed-forward block: exact (erf) or the tanh approximation */
  hiddenAct: 'erf' | 'tanh';
  padTokenId: number;
  /** dropout after embeddings, attention output and feed-forward output while training */
  hiddenDropout: number;
  /** dropout before the classifier while training */
  classifierDropout: number;
  /** std of the normal init of a fresh classification head */
  initializerRange: number;
  /** id2label ordered by id (the class names), or null when the config names none beyond LABEL_i defaults */
  labels: string[] | null;
  /** ModernBERT: per layer, the half-width of its local attention window, or -1 for global attention ([L]) */
  layerWindows: number[];
  /** ModernBERT: per layer, its RoPE theta ([L]); empty for absolute positions */
  ropeThetas: number[];
  /** ModernBERT: biases on LayerNorms, attention and MLP linears, and the head's dense */
  normBias: boolean;
  attentionBias: boolean;
  mlpBias: boolean;
  classifierBias: boolean;
  /** ModernBERT: which hidden state feeds the classification head */
  classifierPooling: 'cls' | 'mean';
  /** ModernBERT: the GELU of its head (dense -> act -> norm) */
  headAct: 'erf' | 'tanh';
  torchDtype: string | null;
}

/** A batch of B rows of T tokens, padded; mask marks the real tokens. */
export interface EncoderInput {
  ids: Int32Array; // [B*T]
  mask: Int32Array; // [B*T], 1 = token, 0 = padding
  /** token type ids [B*T]; default all 0 */
  typeIds?: Int32Array | null;
  batch: number;
  seqLen: number;
}

/** One part of the sequence-classification head under its PEFT module name (modules_to_save), with its weights. */
export interface HeadPart {
  /** the module path PEFT wraps: "classifier", "bert.pooler", "head" */
  module: string;
  weights: NamedTensor[];
  /** trained (fresh, or the classifier itself) and saved with the adapter; false: pretrained and frozen */
  trained: boolean;
}

export interface EncoderModel {
  readonly config: EncoderConfig;
  /** last_hidden_state [B, T, C] */
  encode(input: EncoderInput): Tensor;
  /** sequence-classification logits [B, K]; needs a head */
  classify(input: EncoderInput): Tensor;
  /** the classification head (null when the model was loaded for embeddings only) */
  readonly head: HeadPart[] | null;
  /** number of labels K of the head (0 without one) */
  readonly numLabels: number;
  /** LoRA targets: every linear of the encoder (and the pooler / head dense), never the classifier, in model order */
  linears(): Linear[];
  /** every weight under its HF name (encoder and head) */
  namedWeights(): NamedTensor[];
  /** dropout on (with masks from seed) or off */
  setTraining(on: boolean, seed: number): void;
}
