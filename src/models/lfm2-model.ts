// The LFM2 hybrid causal LM: RMSNorm pre-norm blocks whose operator is, per layer_types, a gated short convolution or
// grouped-query attention with q/k RMSNorm and RoPE, each followed by the SwiGLU feed-forward; a final RMSNorm
// (embedding_norm) and the tied LM head. Generation carries keys and values on attention layers and the last
// conv_L_cache - 1 inputs of each short convolution.
// Legend: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim, K conv kernel, F ffn, V vocab.
// Reference: transformers' modeling_lfm2.py (Lfm2ShortConv.slow_forward, Lfm2Attention, eager, float32).
import { type Tensor, add, attention, causalConv1d, embedding, mul, rmsnorm, rope, swiglu, view } from '../tensor/index.js';
import { mixContext, need as needOf, type MixContext } from './hybrid-parts.js';
import { splitLast } from './fused.js';
import { KVCache, type KvCacheFormat, type LayerLayout } from './kv-cache.js';
import { applyLinear } from './linear.js';
import type { Lfm2Config, Lfm2LayerSpec, Lfm2Table } from './lfm2.js';
import type { LoadedRecord, LoadedTable } from './params.js';
import { RotaryTables } from './rope.js';
import { TableModel, lmHeadOutput } from './table-model.js';
import type { ForwardInput, ForwardOutput } from './types.js';

type Layer = LoadedRecord<Lfm2LayerSpec>;


const need = <T>(x: T | null, what: string): T => needOf('lfm2', x, what);

export class Lfm2Model extends TableModel<Lfm2Table> {
  declare readonly config: Lfm2Config;
  private readonly rotary: RotaryTables;

  constructor(config: Lfm2Config, table: Lfm2Table, loaded: LoadedTable<Lfm2Table>) {
    super(config, table, loaded);
    this.rotary = new RotaryTables(config.headDim, config.ropeTheta, config.ropeScaling);
  }

  /** Keys and values on attention layers; the short convolution's history on conv layers. */
  override createCache(batch: number, capacity: number, format?: KvCacheFormat): KVCache {
    const c = this.config;
    const layouts = c.lfm2.kinds.map((kind): LayerLayout => (kind === 'full'
      ? { kvHeads: c.numKvHeads, headDim: c.headDim }
      : { conv: { channels: c.hiddenSize, kernel: c.lfm2.convKernel }, delta: null }));
    return new KVCache(layouts, batch, capacity, 0, 0, format);
  }

  forward(input: ForwardInput): ForwardOutput {
    const c = this.config;
    const ctx = mixContext(input, c.maxPositions, this.rotary);
    const { B, T, cache } = ctx;
    const eps = c.rmsNormEps;
    const g = this.loaded.global;
    let x = embedding(g.embed, input.ids, [B, T]); // [B, T, C]
    for (const [li, layer] of this.loaded.layers.entries()) {
      const h = rmsnorm(x, layer.operatorNorm, eps);
      x = add(x, c.lfm2.kinds[li] === 'conv' ? this.shortConv(layer, li, h, ctx) : this.attend(layer, li, h, ctx));
      const m = rmsnorm(x, layer.ffnNorm, eps);
      x = add(x, applyLinear(layer.w2, swiglu(applyLinear(layer.w1, m), applyLinear(layer.w3, m))));
    }
    if (cache) cache.advance(T);
    return lmHeadOutput(rmsnorm(x, g.norm, eps), g.lmHead ?? g.embed, input);
  }

  /** Gated short convolution on h [B, T, C] -> out_proj output: [b | c | x] = in_proj(h); c * conv(b * x). */
  private shortConv(l: Layer, li: number, h: Tensor, a: MixContext): Tensor {
    const C = this.config.hiddenSize;
    const [bg, cg, xg] = splitLast(applyLinear(need(l.convIn, 'in_proj'), h), [C, C, C]);
    const conv = causalConv1d(mul(bg, xg), need(l.conv, 'conv'), {
      bias: l.convBias, segments: a.segments, state: a.cache ? a.cache.convState(li) : null,
    });
    return applyLinear(need(l.convOut, 'out_proj'), mul(cg, conv));
  }

  /** Attention on h [B, T, C] -> out_proj output: q/k RMSNorm over D (q_layernorm, k_layernorm), RoPE, GQA. */
  private attend(l: Layer, li: number, h: Tensor, a: MixContext): Tensor {
    const c = this.config;
    const { B, T } = a;
    const [H, Hkv, D] = [c.numHeads, c.numKvHeads, c.headDim];
    let q = rmsnorm(view(applyLinear(need(l.q, 'q_proj'), h), [B, T, H, D]), need(l.qNorm, 'q_layernorm'), c.rmsNormEps);
    let k = rmsnorm(view(applyLinear(need(l.k, 'k_proj'), h), [B, T, Hkv, D]), need(l.kNorm, 'k_layernorm'), c.rmsNormEps);
    let v = view(applyLinear(need(l.v, 'v_proj'), h), [B, T, Hkv, D]);
    q = rope(q, this.rotary.cos, this.rotary.sin, a.pos);
    k = rope(k, this.rotary.cos, this.rotary.sin, a.pos);
    if (a.cache) [k, v] = a.cache.append(li, k, v, T);
    const out = attention(q, k, v, { segments: a.segments });
    return applyLinear(need(l.o, 'out_proj'), view(out, [B, T, H * D]));
  }
}
