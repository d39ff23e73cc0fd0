// The BERT-shaped encoder that bert, roberta and xlm-roberta share (modeling_bert.py / modeling_roberta.py):
// word + token-type + absolute position embeddings, LayerNorm, then post-LN layers of bidirectional self-attention
// over a padding mask and a GELU feed-forward block. The families differ in the prefix of their weight names,
// how position ids are counted (RoBERTa starts after padding_idx and gives padding that id) and the head.
// Legend: B batch, T tokens, C hidden, H heads, D head dim, F ffn, V vocab, P positions, K labels.
import {
  type Tensor, add, embedding, encoderAttention, gelu, layernorm, softcap, tokenPool, view,
} from '../tensor/index.js';
import { applyLinear, type Linear } from './linear.js';
import { linearSpec, tensorSpec, type LinearSpec, type LoadedTable, type ParamTable, type TensorSpec } from './params.js';
import { EncoderBase } from './encoder-base.js';
import type { LoadedHead } from './encoder-family.js';
import type { EncoderConfig, EncoderInput } from './encoder-types.js';

export type BertGlobalSpec = {
  words: TensorSpec; // [V, C]
  positions: TensorSpec; // [P, C]
  /** [typeVocab, C]; null when type_vocab_size is 0 */
  types: TensorSpec | null;
  lnW: TensorSpec; // [C]
  lnB: TensorSpec; // [C]
};

export type BertLayerSpec = {
  q: LinearSpec; // [C, C]
  k: LinearSpec;
  v: LinearSpec;
  attnOut: LinearSpec; // [C, C]
  attnLnW: TensorSpec;
  attnLnB: TensorSpec;
  up: LinearSpec; // [F, C], intermediate.dense
  down: LinearSpec; // [C, F], output.dense
  outLnW: TensorSpec;
  outLnB: TensorSpec;
};

export type BertTable = ParamTable<BertGlobalSpec, BertLayerSpec>;

/** The encoder body under transformers' names with the task models' prefix ("bert", "roberta"). */
export function bertTable(c: EncoderConfig, prefix: string): BertTable {
  const [C, F] = [c.hiddenSize, c.intermediateSize];
  const e = `${prefix}.embeddings`;
  const layers = Array.from({ length: c.numLayers }, (_, l): BertLayerSpec => {
    const p = `${prefix}.encoder.layer.${l}`;
    return {
      q: linearSpec(`${p}.attention.self.query`, C, C, true),
      k: linearSpec(`${p}.attention.self.key`, C, C, true),
      v: linearSpec(`${p}.attention.self.value`, C, C, true),
      attnOut: linearSpec(`${p}.attention.output.dense`, C, C, true),
      attnLnW: tensorSpec(`${p}.attention.output.LayerNorm.weight`, [C]),
      attnLnB: tensorSpec(`${p}.attention.output.LayerNorm.bias`, [C]),
      up: linearSpec(`${p}.intermediate.dense`, F, C, true),
      down: linearSpec(`${p}.output.dense`, C, F, true),
      outLnW: tensorSpec(`${p}.output.LayerNorm.weight`, [C]),
      outLnB: tensorSpec(`${p}.output.LayerNorm.bias`, [C]),
    };
  });
  return {
    global: {
      words: tensorSpec(`${e}.word_embeddings.weight`, [c.vocabSize, C]),
      positions: tensorSpec(`${e}.position_embeddings.weight`, [c.maxPositions, C]),
      types: c.typeVocabSize > 0 ? tensorSpec(`${e}.token_type_embeddings.weight`, [c.typeVocabSize, C]) : null,
      lnW: tensorSpec(`${e}.LayerNorm.weight`, [C]),
      lnB: tensorSpec(`${e}.LayerNorm.bias`, [C]),
    },
    layers,
  };
}

/** Position ids per token [B*T]: 0..T-1 (BERT), or RoBERTa's padding_idx + running count of non-padding tokens,
 *  with padding at padding_idx (create_position_ids_from_input_ids). */
export type PositionRule = (ids: Int32Array, B: number, T: number) => Int32Array;

export const absolutePositions: PositionRule = (_ids, B, T) => Int32Array.from({ length: B * T }, (_, i) => i % T);

export function paddedOffsetPositions(padId: number): PositionRule {
  return (ids, B, T) => {
    const out = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      let n = 0;
      for (let t = 0; t < T; t++) {
        const i = b * T + t;
        if (ids[i] !== padId) n++;
        out[i] = ids[i] !== padId ? padId + n : padId;
      }
    }
    return out;
  };
}

/** The classification head's forward from the final hidden states: [B, T, C] -> logits [B, K]; `drop` is the
 *  classifier dropout (identity outside training). */
export type BertHeadForward = (h: Tensor, input: EncoderInput, head: LoadedHead, drop: (x: Tensor) => Tensor) => Tensor;

/** one-hot weights picking token 0 of every row (the [CLS] / <s> token) */
export function firstTokenWeights(B: number, T: number): Float32Array {
  const w = new Float32Array(B * T);
  for (let b = 0; b < B; b++) w[b * T] = 1;
  return w;
}

/** tanh as the soft-cap with cap 1 */
export const tanh = (x: Tensor): Tensor => softcap(x, 1);

export class BertModel extends EncoderBase<BertTable> {
  constructor(config: EncoderConfig, table: BertTable, w: LoadedTable<BertTable>, private readonly positions: PositionRule,
    head: LoadedHead | null, private readonly headForward: BertHeadForward) {
    super(config, table, w, head);
  }

  encode(input: EncoderInput): Tensor {
    const c = this.config;
    const { batch: B, seqLen: T, ids } = input;
    const [C, H, D] = [c.hiddenSize, c.numHeads, c.headDim];
    const g = this.w.global;
    let x = embedding(g.words, ids, [B, T]);
    if (g.types) x = add(x, embedding(g.types, input.typeIds ?? new Int32Array(B * T), [B, T]));
    x = add(x, embedding(g.positions, this.positions(ids, B, T), [B, T]));
    x = this.drop(layernorm(x, g.lnW, g.lnB, c.layerNormEps), c.hiddenDropout);
    for (const l of this.w.layers) {
      const heads = (m: Linear) => view(applyLinear(m, x), [B, T, H, D]);
      const a = encoderAttention(heads(l.q), heads(l.k), heads(l.v), { keyMask: input.mask });
      const o = this.drop(applyLinear(l.attnOut, view(a, [B, T, C])), c.hiddenDropout);
      x = layernorm(add(o, x), l.attnLnW, l.attnLnB, c.layerNormEps);
      const f = this.drop(applyLinear(l.down, gelu(applyLinear(l.up, x), c.hiddenAct)), c.hiddenDropout);
      x = layernorm(add(f, x), l.outLnW, l.outLnB, c.layerNormEps);
    }
    return x;
  }

  classify(input: EncoderInput): Tensor {
    return this.headForward(this.encode(input), input, this.requireHead(), (x) => this.drop(x, this.config.classifierDropout));
  }
}

/** The pooled [CLS] row: tokenPool with one-hot weights, [B, T, C] -> [B, C]. */
export function clsRow(h: Tensor, B: number, T: number): Tensor {
  return tokenPool(h, firstTokenWeights(B, T));
}
