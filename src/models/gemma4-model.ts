// The Gemma 4 text decoder: the Gemma block with norms over w (not 1 + w), q/k norms and a scale-free v norm,
// attention scale 1, global layers with their own head dim, kv heads and proportional RoPE (keys reused as values
// with attention_k_eq_v), the last layers reusing an earlier layer's keys and values (KV sharing, also through the
// cache), a per-layer input embedding mixed into every block after its MLP, a per-layer output scalar, final soft-cap.
// Legend: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim, F ffn, V vocab, L layers, P per-layer width.
// Reference: transformers' modeling_gemma4.py (Gemma4TextModel / Gemma4ForCausalLM, eager attention, float32).
import { type Tensor, add, attention, geglu, narrow, rope, scale, view } from '../tensor/index.js';
import { ShitateError } from '../errors.js';
import { KVCache, type KvCacheFormat } from './kv-cache.js';
import { applyLinear } from './linear.js';
import { TableModel } from './table-model.js';
import { highestPosition, inputPositions } from './decoder.js';
import { linearSpec, tensorSpec, type LinearSpec, type LoadedRecord, type LoadedTable, type ParamTable, type TensorSpec } from './params.js';
import { LayerRopes, gegluMlp, gemmaHead, gemmaNorm, scaledEmbedding, unitNorm } from './gemma-blocks.js';
import { gemmaOf, type GemmaConfig } from './gemma-config.js';
import { isRecord } from '../io/safetensors-header.js';
import type { ForwardInput, ForwardOutput, ModelConfig } from './types.js';

/** Gemma 4's text knobs beyond the Gemma block. */
export interface Gemma4Spec {
  /** head dim and kv heads of the global (full-attention) layers */
  globalHeadDim: number;
  globalKvHeads: number;
  /** global layers have no v_proj: the keys (before k_norm) are the values */
  kEqV: boolean;
  /** per layer: the earlier layer whose keys and values this layer reuses, or null */
  kvSource: (number | null)[];
  /** per layer: the MLP width (doubled on KV-sharing layers with use_double_wide_mlp) */
  ffn: number[];
  /** per-layer input embeddings: width per layer (0 = none) and their vocabulary */
  perLayerDim: number;
  perLayerVocab: number;
}

export type Gemma4Config = GemmaConfig & { gemma4: Gemma4Spec };

function isGemma4(c: GemmaConfig): c is Gemma4Config {
  return 'gemma4' in c && isRecord(c.gemma4);
}

export function gemma4Of(config: ModelConfig): Gemma4Config {
  const c = gemmaOf(config);
  if (!isGemma4(c)) {
    throw new ShitateError('E_INTERNAL', `model_type ${c.modelType}: the config was not parsed by the Gemma 4 family`, 'load the model with loadModel(dir)');
  }
  return c;
}

/** Head dim and kv heads of layer li. */
export function layerDims(c: Gemma4Config, li: number): { D: number; Hkv: number; global: boolean } {
  const global = c.layerTypes[li] === 'full';
  return {
    D: global && c.gemma4.globalHeadDim ? c.gemma4.globalHeadDim : c.headDim,
    Hkv: global && c.gemma4.kEqV ? c.gemma4.globalKvHeads : c.numKvHeads,
    global,
  };
}

export type Gemma4GlobalSpec = {
  embed: TensorSpec; // [V, C]
  perLayerEmbed: TensorSpec | null; // [Vp, L*P]
  perLayerProj: LinearSpec | null; // [L*P, C]
  perLayerNorm: TensorSpec | null; // [P]
  norm: TensorSpec; // [C]
  lmHead: TensorSpec | null; // [V, C]; null when tied
};

export type Gemma4LayerSpec = {
  inputNorm: TensorSpec; // [C]
  q: LinearSpec; // [H*D, C]
  qNorm: TensorSpec; // [D]
  k: LinearSpec | null; // [Hkv*D, C]; null on KV-sharing layers
  v: LinearSpec | null; // [Hkv*D, C]; null on sharing layers and global layers with k_eq_v
  kNorm: TensorSpec | null; // [D]
  o: LinearSpec; // [C, H*D]
  postAttnNorm: TensorSpec; // [C]
  preFfnNorm: TensorSpec; // [C]
  gate: LinearSpec; // [F, C]
  up: LinearSpec; // [F, C]
  down: LinearSpec; // [C, F]
  postFfnNorm: TensorSpec; // [C]
  perLayerGate: LinearSpec | null; // [P, C]
  perLayerOut: LinearSpec | null; // [C, P]
  postPerLayerNorm: TensorSpec | null; // [C]
  layerScalar: TensorSpec; // [1]
};

export type Gemma4Table = ParamTable<Gemma4GlobalSpec, Gemma4LayerSpec>;
type Gemma4Layer = LoadedRecord<Gemma4LayerSpec>;

export function gemma4Table(config: ModelConfig): Gemma4Table {
  const c = gemma4Of(config);
  const [C, V, H, L, P] = [c.hiddenSize, c.vocabSize, c.numHeads, c.numLayers, c.gemma4.perLayerDim];
  const [pre, bias] = [c.gemma.prefix, c.attentionBias];
  const layers = Array.from({ length: L }, (_, l): Gemma4LayerSpec => {
    const p = `${pre}layers.${l}`;
    const { D, Hkv, global } = layerDims(c, l);
    const own = c.gemma4.kvSource[l] === null;
    const F = c.gemma4.ffn[l];
    return {
      inputNorm: tensorSpec(`${p}.input_layernorm.weight`, [C]),
      q: linearSpec(`${p}.self_attn.q_proj`, H * D, C, bias),
      qNorm: tensorSpec(`${p}.self_attn.q_norm.weight`, [D]),
      k: own ? linearSpec(`${p}.self_attn.k_proj`, Hkv * D, C, bias) : null,
      v: own && !(global && c.gemma4.kEqV) ? linearSpec(`${p}.self_attn.v_proj`, Hkv * D, C, bias) : null,
      kNorm: own ? tensorSpec(`${p}.self_attn.k_norm.weight`, [D]) : null,
      o: linearSpec(`${p}.self_attn.o_proj`, C, H * D, bias),
      postAttnNorm: tensorSpec(`${p}.post_attention_layernorm.weight`, [C]),
      preFfnNorm: tensorSpec(`${p}.pre_feedforward_layernorm.weight`, [C]),
      gate: linearSpec(`${p}.mlp.gate_proj`, F, C, false),
      up: linearSpec(`${p}.mlp.up_proj`, F, C, false),
      down: linearSpec(`${p}.mlp.down_proj`, C, F, false),
      postFfnNorm: tensorSpec(`${p}.post_feedforward_layernorm.weight`, [C]),
      perLayerGate: P > 0 ? linearSpec(`${p}.per_layer_input_gate`, P, C, false) : null,
      perLayerOut: P > 0 ? linearSpec(`${p}.per_layer_projection`, C, P, false) : null,
      postPerLayerNorm: P > 0 ? tensorSpec(`${p}.post_per_layer_input_norm.weight`, [C]) : null,
      layerScalar: tensorSpec(`${p}.layer_scalar`, [1]),
    };
  });
  return {
    global: {
      embed: tensorSpec(`${pre}embed_tokens.weight`, [V, C]),
      perLayerEmbed: P > 0 ? tensorSpec(`${pre}embed_tokens_per_layer.weight`, [c.gemma4.perLayerVocab, L * P]) : null,
      perLayerProj: P > 0 ? linearSpec(`${pre}per_layer_model_projection`, L * P, C, false) : null,
      perLayerNorm: P > 0 ? tensorSpec(`${pre}per_layer_projection_norm.weight`, [P]) : null,
      norm: tensorSpec(`${pre}norm.weight`, [C]),
      lmHead: c.tieWordEmbeddings ? null : tensorSpec('lm_head.weight', [V, C]),
    },
    layers,
  };
}

/** Tensors a checkpoint may hold for KV-sharing layers, which transformers drops on load. */
export function gemma4SharedTensors(config: ModelConfig): RegExp[] {
  const c = gemma4Of(config);
  const pre = c.gemma.prefix.replace(/\./g, '\\.');
  return c.gemma4.kvSource.flatMap((s, l) => (s === null ? [] : [new RegExp(`^${pre}layers\\.${l}\\.self_attn\\.(k_proj|v_proj|k_norm|v_norm)\\.`)]));
}

interface LayerContext {
  B: number;
  T: number;
  pos: Int32Array;
  segments: Int32Array | null;
  cache: KVCache | null;
  /** keys and values [B, Tk, Hkv, D] of the layers others reuse, by layer index */
  shared: Map<number, [Tensor, Tensor]>;
}

export class Gemma4Model extends TableModel<Gemma4Table> {
  declare readonly config: Gemma4Config;
  private readonly ropes: LayerRopes;
  private readonly sources: Set<number>;

  constructor(config: ModelConfig, table: Gemma4Table, loaded: LoadedTable<Gemma4Table>) {
    super(gemma4Of(config), table, loaded);
    const c = this.config;
    this.ropes = new LayerRopes(c.gemma.rope, c.gemma4.globalHeadDim || c.headDim, c.headDim);
    this.sources = new Set(c.gemma4.kvSource.filter((s): s is number => s !== null));
  }

  /** KV-sharing layers keep no cache of their own (zero-width rows). */
  override createCache(batch: number, capacity: number, format?: KvCacheFormat): KVCache {
    const c = this.config;
    const layouts = c.layerTypes.map((_, li) => {
      const { D, Hkv } = layerDims(c, li);
      return { kvHeads: c.gemma4.kvSource[li] === null ? Hkv : 0, headDim: D };
    });
    return new KVCache(layouts, batch, capacity, 0, 0, format);
  }

  /** Per-layer inputs [B, T, L, P]: (norm(proj(x) * C^-1/2) + embed_per_layer(ids) * sqrt(P)) * 2^-1/2. */
  private perLayerInputs(x: Tensor, ids: Int32Array, B: number, T: number): Tensor | null {
    const c = this.config;
    const g = this.loaded.global;
    const [L, P] = [c.numLayers, c.gemma4.perLayerDim];
    if (!g.perLayerEmbed || !g.perLayerProj || !g.perLayerNorm) return null;
    const fromIds = view(scaledEmbedding(g.perLayerEmbed, ids, B, T, Math.fround(Math.sqrt(P))), [B, T, L, P]);
    const proj = view(scale(applyLinear(g.perLayerProj, x), Math.fround(c.hiddenSize ** -0.5)), [B, T, L, P]);
    return scale(add(gemmaNorm(proj, g.perLayerNorm, c.rmsNormEps, 0), fromIds), Math.fround(2 ** -0.5));
  }

  /** Self-attention of layer li on normed h [B, T, C]: q (and, unless the layer reuses another's, k and v)
   *  projected and normed per head, RoPE of the layer type, cache, attention at scale 1. */
  private attend(layer: Gemma4Layer, li: number, h: Tensor, a: LayerContext): Tensor {
    const c = this.config;
    const { B, T } = a;
    const { D, Hkv } = layerDims(c, li);
    const kind = c.layerTypes[li];
    const tables = this.ropes.of(kind);
    const eps = c.rmsNormEps;
    const q = rope(gemmaNorm(view(applyLinear(layer.q, h), [B, T, c.numHeads, D]), layer.qNorm, eps, 0), tables.cos, tables.sin, a.pos);
    const src = c.gemma4.kvSource[li];
    let k: Tensor;
    let v: Tensor;
    if (src !== null) {
      const kv = a.shared.get(src);
      if (!kv) throw new ShitateError('E_INTERNAL', `gemma4: layer ${li} reuses layer ${src}'s keys, which were not computed`, 'this is a bug');
      [k, v] = kv;
    } else {
      if (!layer.k || !layer.kNorm) throw new ShitateError('E_INTERNAL', `gemma4: layer ${li} has no k_proj`, 'this is a bug');
      const kRaw = view(applyLinear(layer.k, h), [B, T, Hkv, D]);
      const vRaw = layer.v ? view(applyLinear(layer.v, h), [B, T, Hkv, D]) : kRaw;
      k = rope(gemmaNorm(kRaw, layer.kNorm, eps, 0), tables.cos, tables.sin, a.pos);
      v = unitNorm(vRaw, eps);
      if (a.cache) [k, v] = a.cache.append(li, k, v, T);
      if (this.sources.has(li)) a.shared.set(li, [k, v]);
    }
    const out = attention(q, k, v, { scale: 1, window: kind === 'sliding' ? c.slidingWindow ?? 0 : 0, segments: a.segments });
    return applyLinear(layer.o, view(out, [B, T, c.numHeads * D]));
  }

  /** One decoder layer: sandwich-normed attention and MLP, the per-layer input, the layer scalar. */
  private block(layer: Gemma4Layer, li: number, x: Tensor, perLayer: Tensor | null, a: LayerContext): Tensor {
    const c = this.config;
    const eps = c.rmsNormEps;
    x = add(x, gemmaNorm(this.attend(layer, li, gemmaNorm(x, layer.inputNorm, eps, 0), a), layer.postAttnNorm, eps, 0));
    const mlp = gegluMlp(layer.gate, layer.up, layer.down, gemmaNorm(x, layer.preFfnNorm, eps, 0), c.gemma.act);
    x = add(x, gemmaNorm(mlp, layer.postFfnNorm, eps, 0));
    if (perLayer && layer.perLayerGate && layer.perLayerOut && layer.postPerLayerNorm) {
      const P = c.gemma4.perLayerDim;
      const mine = view(narrow(perLayer, 2, li, 1), [a.B, a.T, P]); // this layer's [B, T, P] of [B, T, L, P]
      const mixed = applyLinear(layer.perLayerOut, geglu(applyLinear(layer.perLayerGate, x), mine, c.gemma.act));
      x = add(x, gemmaNorm(mixed, layer.postPerLayerNorm, eps, 0));
    }
    const s = layer.layerScalar.data[0];
    return s === 1 ? x : scale(x, s);
  }

  forward(input: ForwardInput): ForwardOutput {
    const c = this.config;
    const { batch: B, seqLen: T, ids } = input;
    const pos = inputPositions(input, c.maxPositions);
    this.ropes.ensure(highestPosition(pos) + 1);
    const cache = input.cache ?? null;
    const a: LayerContext = { B, T, pos, segments: input.segments ?? null, cache, shared: new Map() };
    let x = scaledEmbedding(this.loaded.global.embed, ids, B, T, c.gemma.embedScale); // [B, T, C]
    const perLayer = this.perLayerInputs(x, ids, B, T);
    for (const [li, layer] of this.loaded.layers.entries()) x = this.block(layer, li, x, perLayer, a);
    if (cache) cache.advance(T);
    const head = this.loaded.global.lmHead ?? this.loaded.global.embed;
    return gemmaHead(gemmaNorm(x, this.loaded.global.norm, c.rmsNormEps, 0), head, input, c.gemma.finalSoftcap);
  }
}
