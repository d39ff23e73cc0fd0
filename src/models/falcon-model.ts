// The Falcon causal LM: word embeddings, blocks of LayerNorm + attention over the fused query_key_value (RoPE or
// ALiBi) and a GELU MLP, either in parallel (x + attn(ln(x)) + mlp(ln'(x))) or in sequence, final ln_f, LM head.
// Legend: B batch, T tokens, C hidden, H heads, G kv groups, D head dim, F ffn, V vocab.
// Reference: transformers' modeling_falcon.py (eager attention, float32).
import { type Tensor, add, embedding, layernorm } from '../tensor/index.js';
import { highestPosition, inputPositions } from './decoder.js';
import type { FalconConfig, FalconLayerSpec, FalconTable } from './falcon.js';
import { kernelSlopes } from './alibi.js';
import { fusedAttention, geluMlp, type FusedAttention } from './ln-blocks.js';
import type { LoadedRecord, LoadedTable } from './params.js';
import { RotaryTables } from './rope.js';
import { TableModel, lmHeadOutput } from './table-model.js';
import type { ForwardInput, ForwardOutput } from './types.js';

type FalconLayer = LoadedRecord<FalconLayerSpec>;

export class FalconModel extends TableModel<FalconTable> {
  declare readonly config: FalconConfig;
  private readonly rotary: RotaryTables | null;
  private readonly slopes: Float32Array | null;

  constructor(config: FalconConfig, table: FalconTable, loaded: LoadedTable<FalconTable>) {
    super(config, table, loaded);
    const D = config.headDim;
    this.rotary = config.falcon.alibi ? null : new RotaryTables(D, config.ropeTheta, config.ropeScaling);
    this.slopes = config.falcon.alibi ? kernelSlopes(config.numHeads, 'falcon', 1 / Math.sqrt(D)) : null;
  }

  forward(input: ForwardInput): ForwardOutput {
    const c = this.config;
    const { batch: B, seqLen: T, ids } = input;
    const pos = inputPositions(input, c.maxPositions);
    this.rotary?.ensure(highestPosition(pos) + 1);
    const cache = input.cache ?? null;
    const a: FusedAttention = {
      B, T, H: c.numHeads, groups: c.falcon.groups, perGroup: c.falcon.perGroup, D: c.headDim, pos,
      segments: input.segments ?? null, cache, rotary: this.rotary, alibi: this.slopes,
    };
    const g = this.loaded.global;
    let x = embedding(g.embed, ids, [B, T]); // [B, T, C]
    for (const [li, layer] of this.loaded.layers.entries()) x = this.block(layer, li, x, a);
    if (cache) cache.advance(T);
    return lmHeadOutput(layernorm(x, g.normW, g.normB, c.rmsNormEps), g.lmHead ?? g.embed, input);
  }

  /** One FalconDecoderLayer. x [B, T, C] -> [B, T, C] */
  private block(layer: FalconLayer, li: number, x: Tensor, a: FusedAttention): Tensor {
    const { rmsNormEps: eps, falcon } = this.config;
    const attnIn = layernorm(x, layer.attnNormW, layer.attnNormB, eps);
    const attn = fusedAttention(layer.qkv, layer.dense, li, attnIn, a);
    if (falcon.norms === 'sequential' && layer.mlpNormW && layer.mlpNormB) {
      const mid = add(x, attn);
      return add(mid, geluMlp(layer.up, layer.down, layernorm(mid, layer.mlpNormW, layer.mlpNormB, eps), falcon.act));
    }
    const mlpIn = layer.mlpNormW && layer.mlpNormB ? layernorm(x, layer.mlpNormW, layer.mlpNormB, eps) : attnIn;
    // mlp_output += attention_output, then the residual
    return add(x, add(geluMlp(layer.up, layer.down, mlpIn, falcon.act), attn));
  }
}
