// The Qwen3.5 hybrid causal LM: (1 + w)-RMSNorm pre-norm blocks whose token mixer is, per layer_types, Gated DeltaNet
// linear attention or gated softmax attention, each followed by the SwiGLU MLP. Generation carries per layer either
// keys and values (attention) or the conv history and the delta-rule state (linear attention), so a decode step
// costs the same at any length on three layers of four.
// Legend: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim, R rotary dims, Hk/Hv linear q-k/value
// heads, Dk/Dv their dims, K conv kernel, F ffn, V vocab.
// Reference: transformers' modeling_qwen3_5.py (Qwen3_5GatedDeltaNet, Qwen3_5Attention, eager, float32).
import {
  type Tensor, add, attention, causalConv1d, decayGate, embedding, gatedDeltaRule, l2norm, mul, narrow, rmsnorm, ropePartial,
  sigmoid, swiglu, view,
} from '../tensor/index.js';
import { mixContext, need as needOf, type MixContext } from './hybrid-parts.js';
import { splitLast } from './fused.js';
import { gemmaNorm } from './gemma-blocks.js';
import { KVCache, type KvCacheFormat, type LayerLayout } from './kv-cache.js';
import { applyLinear, type Linear } from './linear.js';
import type { LoadedRecord, LoadedTable } from './params.js';
import type { Qwen35Config, Qwen35LayerSpec, Qwen35Table } from './qwen3_5.js';
import { RotaryTables } from './rope.js';
import { TableModel, lmHeadOutput } from './table-model.js';
import type { ForwardInput, ForwardOutput } from './types.js';

type Layer = LoadedRecord<Qwen35LayerSpec>;


/** transformers' l2norm epsilon in the delta rule (use_qk_l2norm_in_kernel) */
const L2_EPS = 1e-6;

const need = <T>(x: T | null, what: string): T => needOf('qwen3_5', x, what);

export class Qwen35Model extends TableModel<Qwen35Table> {
  declare readonly config: Qwen35Config;
  private readonly rotary: RotaryTables;

  constructor(config: Qwen35Config, table: Qwen35Table, loaded: LoadedTable<Qwen35Table>) {
    super(config, table, loaded);
    this.rotary = new RotaryTables(config.qwen35.rotaryDim, config.ropeTheta, config.qwen35.ropeScaling);
  }

  /** Keys and values on attention layers; conv history and delta-rule state on linear-attention layers. */
  override createCache(batch: number, capacity: number, format?: KvCacheFormat): KVCache {
    const c = this.config;
    const s = c.qwen35;
    const layouts = s.kinds.map((kind): LayerLayout => (kind === 'full'
      ? { kvHeads: c.numKvHeads, headDim: c.headDim }
      : {
        conv: { channels: 2 * s.kHeads * s.kDim + s.vHeads * s.vDim, kernel: s.convKernel },
        delta: { heads: s.vHeads, keyDim: s.kDim, valueDim: s.vDim },
      }));
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
      const h = gemmaNorm(x, layer.inputNorm, eps, 1);
      x = add(x, c.qwen35.kinds[li] === 'linear' ? this.deltaNet(layer, li, h, ctx) : this.attend(layer, li, h, ctx));
      const m = gemmaNorm(x, layer.postNorm, eps, 1);
      x = add(x, applyLinear(layer.down, swiglu(applyLinear(layer.gate, m), applyLinear(layer.up, m))));
    }
    if (cache) cache.advance(T);
    return lmHeadOutput(gemmaNorm(x, g.norm, eps, 1), g.lmHead ?? g.embed, input);
  }

  /** Gated DeltaNet on normed input h [B, T, C] -> out_proj output [B, T, C]: q/k/v through the causal conv (SiLU),
   *  q and k L2-normalised, decay g = -exp(A_log) softplus(a + dt_bias) and beta = sigmoid(b) per value head, the
   *  gated delta rule, RMSNorm over each value head gated by silu(z). */
  private deltaNet(l: Layer, li: number, h: Tensor, a: MixContext): Tensor {
    const s = this.config.qwen35;
    const { B, T } = a;
    const [Kd, Vd] = [s.kHeads * s.kDim, s.vHeads * s.vDim];
    const lin = (m: Linear | null, what: string) => applyLinear(need(m, what), h);
    const mixed = causalConv1d(lin(l.inQkv, 'in_proj_qkv'), need(l.conv, 'conv1d'), {
      act: 'silu', segments: a.segments, state: a.cache ? a.cache.convState(li) : null,
    });
    const [qf, kf, vf] = splitLast(mixed, [Kd, Kd, Vd]);
    const q = l2norm(view(qf, [B, T, s.kHeads, s.kDim]), L2_EPS);
    const k = l2norm(view(kf, [B, T, s.kHeads, s.kDim]), L2_EPS);
    const v = view(vf, [B, T, s.vHeads, s.vDim]);
    const g = decayGate(lin(l.inA, 'in_proj_a'), need(l.aLog, 'A_log'), need(l.dtBias, 'dt_bias'));
    const beta = sigmoid(lin(l.inB, 'in_proj_b'));
    const o = gatedDeltaRule(q, k, v, g, beta, {
      scale: 1 / Math.sqrt(s.kDim), segments: a.segments, state: a.cache ? a.cache.deltaState(li) : null,
    });
    const normed = rmsnorm(o, need(l.gatedNorm, 'norm'), this.config.rmsNormEps); // [B, T, Hv, Dv]
    const z = view(lin(l.inZ, 'in_proj_z'), [B, T, s.vHeads, s.vDim]);
    return applyLinear(need(l.out, 'out_proj'), view(swiglu(z, normed), [B, T, Vd]));
  }

  /** Gated attention on h [B, T, C] -> o_proj output [B, T, C]: q_proj gives each head D query values then D gate
   *  values; (1 + w) q/k norms over D, rotary on the first R dims, attention, output times sigmoid(gate). */
  private attend(l: Layer, li: number, h: Tensor, a: MixContext): Tensor {
    const c = this.config;
    const { B, T } = a;
    const [H, Hkv, D, R] = [c.numHeads, c.numKvHeads, c.headDim, c.qwen35.rotaryDim];
    const qg = view(applyLinear(need(l.q, 'q_proj'), h), [B, T, H, 2 * D]);
    const gate = view(narrow(qg, 3, D, D), [B, T, H * D]);
    let q = gemmaNorm(narrow(qg, 3, 0, D), need(l.qNorm, 'q_norm'), c.rmsNormEps, 1);
    let k = gemmaNorm(view(applyLinear(need(l.k, 'k_proj'), h), [B, T, Hkv, D]), need(l.kNorm, 'k_norm'), c.rmsNormEps, 1);
    let v = view(applyLinear(need(l.v, 'v_proj'), h), [B, T, Hkv, D]);
    q = ropePartial(q, this.rotary.cos, this.rotary.sin, a.pos, R);
    k = ropePartial(k, this.rotary.cos, this.rotary.sin, a.pos, R);
    if (a.cache) [k, v] = a.cache.append(li, k, v, T);
    const out = attention(q, k, v, { segments: a.segments });
    return applyLinear(need(l.o, 'o_proj'), mul(view(out, [B, T, H * D]), sigmoid(gate)));
  }
}
