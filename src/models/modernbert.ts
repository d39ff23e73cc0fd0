// model_type "modernbert" (modeling_modernbert.py, the padded eager path): token embeddings + LayerNorm, pre-LN
// layers (layer 0 without attn_norm) of a fused Wqkv with rotary q/k (theta per layer type), bidirectional
// attention that is global every global_attn_every_n_layers layers and local (|i - j| <= local_attention / 2)
// otherwise, a GeGLU MLP (Wi -> [input | gate] -> gelu(input) * gate -> Wo), no biases unless configured, a final
// norm; head: CLS or mean pooling -> dense -> GELU -> LayerNorm -> dropout -> classifier.
// Legend: B batch, T tokens, C hidden, H heads, D head dim, F ffn, V vocab, K labels.
import {
  type Tensor, add, embedding, encoderAttention, geglu, gelu, layernorm, narrow, rope, tokenPool, view,
} from '../tensor/index.js';
import { applyLinear, type Linear } from './linear.js';
import { linearSpec, tensorSpec, type LinearSpec, type LoadedTable, type ParamTable, type TensorSpec } from './params.js';
import { RotaryTables } from './rope.js';
import { parseModernBert } from './encoder-config.js';
import { firstTokenWeights } from './bert-model.js';
import { EncoderBase } from './encoder-base.js';
import type { EncoderFamily, HeadSpec, LoadedHead } from './encoder-family.js';
import type { EncoderConfig, EncoderInput } from './encoder-types.js';

type GlobalSpec = {
  tok: TensorSpec; // [V, C]
  embNormW: TensorSpec; // [C]
  embNormB: TensorSpec | null;
  finalNormW: TensorSpec;
  finalNormB: TensorSpec | null;
};

type LayerSpec = {
  /** null on layer 0 (nn.Identity) */
  attnNormW: TensorSpec | null;
  attnNormB: TensorSpec | null;
  qkv: LinearSpec; // [3C, C]
  attnOut: LinearSpec; // [C, C]
  mlpNormW: TensorSpec;
  mlpNormB: TensorSpec | null;
  wi: LinearSpec; // [2F, C]
  wo: LinearSpec; // [C, F]
};

export type ModernBertTable = ParamTable<GlobalSpec, LayerSpec>;

function modernBertTable(c: EncoderConfig): ModernBertTable {
  const [C, F] = [c.hiddenSize, c.intermediateSize];
  const bias = (name: string) => (c.normBias ? tensorSpec(`${name}.bias`, [C]) : null);
  return {
    global: {
      tok: tensorSpec('model.embeddings.tok_embeddings.weight', [c.vocabSize, C]),
      embNormW: tensorSpec('model.embeddings.norm.weight', [C]),
      embNormB: bias('model.embeddings.norm'),
      finalNormW: tensorSpec('model.final_norm.weight', [C]),
      finalNormB: bias('model.final_norm'),
    },
    layers: Array.from({ length: c.numLayers }, (_, l): LayerSpec => {
      const p = `model.layers.${l}`;
      return {
        attnNormW: l === 0 ? null : tensorSpec(`${p}.attn_norm.weight`, [C]),
        attnNormB: l === 0 ? null : bias(`${p}.attn_norm`),
        qkv: linearSpec(`${p}.attn.Wqkv`, 3 * C, C, c.attentionBias),
        attnOut: linearSpec(`${p}.attn.Wo`, C, C, c.attentionBias),
        mlpNormW: tensorSpec(`${p}.mlp_norm.weight`, [C]),
        mlpNormB: bias(`${p}.mlp_norm`),
        wi: linearSpec(`${p}.mlp.Wi`, 2 * F, C, c.mlpBias),
        wo: linearSpec(`${p}.mlp.Wo`, C, F, c.mlpBias),
      };
    }),
  };
}

/** Pooling weights [B*T] of the head: one-hot on token 0, or the mask divided by each row's token count. */
function poolWeights(c: EncoderConfig, input: EncoderInput): Float32Array {
  const { batch: B, seqLen: T, mask } = input;
  if (c.classifierPooling === 'cls') return firstTokenWeights(B, T);
  const w = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let t = 0; t < T; t++) n += mask[b * T + t];
    for (let t = 0; t < T; t++) w[b * T + t] = mask[b * T + t] / n;
  }
  return w;
}

class ModernBertModel extends EncoderBase<ModernBertTable> {
  private readonly rotary = new Map<number, RotaryTables>();

  constructor(config: EncoderConfig, table: ModernBertTable, w: LoadedTable<ModernBertTable>, head: LoadedHead | null) {
    super(config, table, w, head);
    for (const theta of config.ropeThetas) if (!this.rotary.has(theta)) this.rotary.set(theta, new RotaryTables(config.headDim, theta, null));
  }

  encode(input: EncoderInput): Tensor {
    const c = this.config;
    const { batch: B, seqLen: T } = input;
    const [C, H, D, F, eps] = [c.hiddenSize, c.numHeads, c.headDim, c.intermediateSize, c.layerNormEps];
    const g = this.w.global;
    const pos = Int32Array.from({ length: B * T }, (_, i) => i % T); // arange(T) for every row, padding or not
    let x = layernorm(embedding(g.tok, input.ids, [B, T]), g.embNormW, g.embNormB, eps);
    this.w.layers.forEach((l, i) => {
      const h = l.attnNormW ? layernorm(x, l.attnNormW, l.attnNormB, eps) : x;
      const qkv = view(applyLinear(l.qkv, h), [B, T, 3, C]);
      const part = (j: number) => view(narrow(qkv, 2, j, 1), [B, T, H, D]);
      const rot = this.rotary.get(c.ropeThetas[i])!;
      rot.ensure(T);
      const q = rope(part(0), rot.cos, rot.sin, pos);
      const k = rope(part(1), rot.cos, rot.sin, pos);
      const a = encoderAttention(q, k, part(2), { keyMask: input.mask, window: c.layerWindows[i] });
      x = add(x, applyLinear(l.attnOut, view(a, [B, T, C])));
      const wi = applyLinear(l.wi, layernorm(x, l.mlpNormW, l.mlpNormB, eps));
      x = add(x, applyLinear(l.wo, geglu(narrow(wi, 2, 0, F), narrow(wi, 2, F, F), c.hiddenAct)));
    });
    return layernorm(x, g.finalNormW, g.finalNormB, eps);
  }

  classify(input: EncoderInput): Tensor {
    const head = this.requireHead();
    const c = this.config;
    const s = head.slots;
    const pooled = tokenPool(this.encode(input), poolWeights(c, input));
    const normed = layernorm(gelu(applyLinear(s.dense as Linear, pooled), c.headAct), s.normW as Tensor, s.normB as Tensor | null, c.layerNormEps);
    return applyLinear(s.classifier as Linear, this.drop(normed, c.classifierDropout));
  }
}

export const modernbert: EncoderFamily<ModernBertTable> = {
  modelType: 'modernbert',
  aliases: [],
  parseConfig: parseModernBert,
  table: modernBertTable,
  headSpecs: (c, K): HeadSpec[] => [
    {
      module: 'head',
      slots: {
        dense: linearSpec('head.dense', c.hiddenSize, c.hiddenSize, c.classifierBias),
        normW: tensorSpec('head.norm.weight', [c.hiddenSize]),
        normB: c.normBias ? tensorSpec('head.norm.bias', [c.hiddenSize]) : null,
      },
      classifier: false,
      initStd: c.initializerRange / Math.sqrt(2 * c.numLayers),
    },
    { module: 'classifier', slots: { classifier: linearSpec('classifier', K, c.hiddenSize, true) }, classifier: true, initStd: c.hiddenSize ** -0.5 },
  ],
  // the masked-LM decoder of ModernBertForMaskedLM (its weight tied to the embedding); the head and classifier
  // are claimed when a classification head is loaded
  ignoredTensors: () => [/^decoder\./, /^head\./, /^classifier\./],
  renames: [[/^(?=(embeddings|layers|final_norm)\.)/, 'model.']],
  classifierWeight: 'classifier.weight',
  build: (c, w, head) => new ModernBertModel(c, modernBertTable(c), w, head),
};
