// The Gemma 2 / Gemma 3 causal LM: sqrt(hidden)-scaled embeddings, blocks with sandwich norms (input and
// post-attention norms around attention, pre- and post-feedforward norms around the GeGLU MLP), every RMSNorm
// over (1 + w), optional per-head q/k norms (Gemma 3), a RoPE per layer type, sliding-window layers, optional
// attention and final logit soft-caps, tied LM head. One parameter table under the HF names, with the decoder's
// prefix ("model." or a multimodal wrapper's "model.language_model.").
// Legend: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim, F ffn, V vocab, L layers.
// Reference: transformers' modeling_gemma2.py / modeling_gemma3.py (eager attention, float32).
import { type Tensor, add, attention, rope, view } from '../tensor/index.js';
import type { KVCache } from './kv-cache.js';
import { applyLinear } from './linear.js';
import { TableModel } from './table-model.js';
import { inputPositions, highestPosition } from './decoder.js';
import { linearSpec, tensorSpec, type LinearSpec, type LoadedRecord, type LoadedTable, type ParamTable, type TensorSpec } from './params.js';
import { LayerRopes, gegluMlp, gemmaHead, gemmaNorm, scaledEmbedding } from './gemma-blocks.js';
import { gemmaOf, type GemmaConfig } from './gemma-config.js';
import { defineFamily, type Family } from './family.js';
import type { Fields } from '../io/json-fields.js';
import type { ForwardInput, ForwardOutput, ModelConfig } from './types.js';

export type GemmaGlobalSpec = {
  embed: TensorSpec; // [V, C]
  norm: TensorSpec; // [C]
  lmHead: TensorSpec | null; // [V, C]; null when tied
};

export type GemmaLayerSpec = {
  inputNorm: TensorSpec; // [C]
  q: LinearSpec; // [H*D, C]
  k: LinearSpec; // [Hkv*D, C]
  v: LinearSpec; // [Hkv*D, C]
  o: LinearSpec; // [C, H*D]
  qNorm: TensorSpec | null; // [D], Gemma 3
  kNorm: TensorSpec | null; // [D], Gemma 3
  postAttnNorm: TensorSpec; // [C]
  preFfnNorm: TensorSpec; // [C]
  postFfnNorm: TensorSpec; // [C]
  gate: LinearSpec; // [F, C]
  up: LinearSpec; // [F, C]
  down: LinearSpec; // [C, F]
};

export type GemmaTable = ParamTable<GemmaGlobalSpec, GemmaLayerSpec>;
type GemmaLayer = LoadedRecord<GemmaLayerSpec>;

/** Gemma 2/3 weights under transformers' names. */
export function gemmaTable(config: ModelConfig): GemmaTable {
  const c = gemmaOf(config);
  const [C, F, V, H, Hkv, D] = [c.hiddenSize, c.intermediateSize, c.vocabSize, c.numHeads, c.numKvHeads, c.headDim];
  const pre = c.gemma.prefix;
  const bias = c.attentionBias;
  const layers = Array.from({ length: c.numLayers }, (_, l): GemmaLayerSpec => {
    const p = `${pre}layers.${l}`;
    return {
      inputNorm: tensorSpec(`${p}.input_layernorm.weight`, [C]),
      q: linearSpec(`${p}.self_attn.q_proj`, H * D, C, bias),
      k: linearSpec(`${p}.self_attn.k_proj`, Hkv * D, C, bias),
      v: linearSpec(`${p}.self_attn.v_proj`, Hkv * D, C, bias),
      o: linearSpec(`${p}.self_attn.o_proj`, C, H * D, bias),
      qNorm: c.qkNorm ? tensorSpec(`${p}.self_attn.q_norm.weight`, [D]) : null,
      kNorm: c.qkNorm ? tensorSpec(`${p}.self_attn.k_norm.weight`, [D]) : null,
      postAttnNorm: tensorSpec(`${p}.post_attention_layernorm.weight`, [C]),
      preFfnNorm: tensorSpec(`${p}.pre_feedforward_layernorm.weight`, [C]),
      postFfnNorm: tensorSpec(`${p}.post_feedforward_layernorm.weight`, [C]),
      gate: linearSpec(`${p}.mlp.gate_proj`, F, C, false),
      up: linearSpec(`${p}.mlp.up_proj`, F, C, false),
      down: linearSpec(`${p}.mlp.down_proj`, C, F, false),
    };
  });
  return {
    global: {
      embed: tensorSpec(`${pre}embed_tokens.weight`, [V, C]),
      norm: tensorSpec(`${pre}norm.weight`, [C]),
      lmHead: c.tieWordEmbeddings ? null : tensorSpec('lm_head.weight', [V, C]),
    },
    layers,
  };
}

/** What one layer's attention needs besides its weights. */
interface AttendContext {
  B: number;
  T: number;
  pos: Int32Array;
  segments: Int32Array | null;
  cache: KVCache | null;
}

export class GemmaModel extends TableModel<GemmaTable> {
  declare readonly config: GemmaConfig;
  private readonly ropes: LayerRopes;
  private readonly embed: Tensor;
  private readonly head: Tensor;

  constructor(config: ModelConfig, table: GemmaTable, loaded: LoadedTable<GemmaTable>) {
    super(gemmaOf(config), table, loaded);
    this.ropes = new LayerRopes(this.config.gemma.rope, this.config.headDim, this.config.headDim);
    this.embed = loaded.global.embed;
    this.head = loaded.global.lmHead ?? loaded.global.embed;
  }

  /** Self-attention of layer li on normed input h [B, T, C] -> o_proj output [B, T, C]: project, per-head
   *  q/k norms (Gemma 3), this layer type's RoPE, cache, attend (window, score scale, soft-cap). */
  private attend(layer: GemmaLayer, li: number, h: Tensor, a: AttendContext): Tensor {
    const c = this.config;
    const { B, T } = a;
    const [H, Hkv, D] = [c.numHeads, c.numKvHeads, c.headDim];
    let q = view(applyLinear(layer.q, h), [B, T, H, D]);
    let k = view(applyLinear(layer.k, h), [B, T, Hkv, D]);
    let v = view(applyLinear(layer.v, h), [B, T, Hkv, D]);
    if (layer.qNorm) q = gemmaNorm(q, layer.qNorm, c.rmsNormEps, c.gemma.normOffset);
    if (layer.kNorm) k = gemmaNorm(k, layer.kNorm, c.rmsNormEps, c.gemma.normOffset);
    const kind = c.layerTypes[li];
    const tables = this.ropes.of(kind);
    q = rope(q, tables.cos, tables.sin, a.pos);
    k = rope(k, tables.cos, tables.sin, a.pos);
    if (a.cache) [k, v] = a.cache.append(li, k, v, T);
    const out = attention(q, k, v, {
      scale: c.attentionScale ?? 1 / Math.sqrt(D), window: kind === 'sliding' ? c.slidingWindow ?? 0 : 0,
      segments: a.segments, softcap: c.gemma.attnSoftcap,
    });
    return applyLinear(layer.o, view(out, [B, T, H * D]));
  }

  forward(input: ForwardInput): ForwardOutput {
    const c = this.config;
    const { batch: B, seqLen: T, ids } = input;
    const pos = inputPositions(input, c.maxPositions);
    this.ropes.ensure(highestPosition(pos) + 1);
    const cache = input.cache ?? null;
    const a: AttendContext = { B, T, pos, segments: input.segments ?? null, cache };
    const [eps, off] = [c.rmsNormEps, c.gemma.normOffset];
    let x = scaledEmbedding(this.embed, ids, B, T, c.gemma.embedScale); // [B, T, C]
    for (const [li, layer] of this.loaded.layers.entries()) {
      const attn = this.attend(layer, li, gemmaNorm(x, layer.inputNorm, eps, off), a);
      x = add(x, gemmaNorm(attn, layer.postAttnNorm, eps, off));
      const mlp = gegluMlp(layer.gate, layer.up, layer.down, gemmaNorm(x, layer.preFfnNorm, eps, off), c.gemma.act);
      x = add(x, gemmaNorm(mlp, layer.postFfnNorm, eps, off));
    }
    if (cache) cache.advance(T);
    return gemmaHead(gemmaNorm(x, this.loaded.global.norm, eps, off), this.head, input, c.gemma.finalSoftcap);
  }
}

/** A Gemma 2/3 family: its config parser; the table and the model are shared. */
export function gemmaFamily(modelType: string, parseConfig: (f: Fields) => GemmaConfig,
  extra: Pick<Parameters<typeof defineFamily<GemmaTable>>[0], 'renames' | 'carriedTensors' | 'ignoredTensors'> = {}): Family {
  return defineFamily<GemmaTable>({ modelType, parseConfig, table: gemmaTable, build: (c, t, w) => new GemmaModel(c, t, w), ...extra });
}
