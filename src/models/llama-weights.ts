// Reads the Llama-family weights by their HF names from a checkpoint, checking every shape against
// config.json before a byte is read (so a mismatch names the tensor, the file and both shapes).
import { Tensor } from '../tensor/index.js';
import type { Checkpoint } from '../io/checkpoint.js';
import type { ModelConfig } from '../io/hf-config.js';
import type { Linear } from './linear.js';
import type { LlamaLayer, LlamaWeights } from './llama.js';
import { ShitateError } from '../errors.js';

function load(ck: Checkpoint, name: string, shape: number[]): Tensor {
  const info = ck.tensors.get(name);
  if (!info) {
    throw new ShitateError('E_TENSOR_MISSING', `${ck.dir}: expected weight "${name}" with shape [${shape.join(', ')}], found none`,
      'the weights do not match config.json (another architecture or an incomplete download)');
  }
  if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
    throw new ShitateError('E_SHAPE', `${info.file}: weight "${name}" has shape [${info.shape.join(', ')}], config.json implies [${shape.join(', ')}]`,
      'config.json and the weights come from different models; re-download the folder as a whole');
  }
  const t = Tensor.from(ck.readF32(name), shape);
  t.name = name;
  return t;
}

function linearOf(ck: Checkpoint, name: string, out: number, inp: number, bias: boolean): Linear {
  return {
    name,
    weight: load(ck, `${name}.weight`, [out, inp]),
    bias: bias ? load(ck, `${name}.bias`, [out]) : null,
    adapter: null,
  };
}

export function loadLlamaWeights(ck: Checkpoint, c: ModelConfig): LlamaWeights {
  const [C, F, V, H, Hkv, D] = [c.hiddenSize, c.intermediateSize, c.vocabSize, c.numHeads, c.numKvHeads, c.headDim];
  const embed = load(ck, 'model.embed_tokens.weight', [V, C]);
  const layers: LlamaLayer[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    layers.push({
      inputNorm: load(ck, `${p}.input_layernorm.weight`, [C]),
      q: linearOf(ck, `${p}.self_attn.q_proj`, H * D, C, c.attentionBias),
      k: linearOf(ck, `${p}.self_attn.k_proj`, Hkv * D, C, c.attentionBias),
      v: linearOf(ck, `${p}.self_attn.v_proj`, Hkv * D, C, c.attentionBias),
      o: linearOf(ck, `${p}.self_attn.o_proj`, C, H * D, c.attentionOutBias),
      postNorm: load(ck, `${p}.post_attention_layernorm.weight`, [C]),
      gate: linearOf(ck, `${p}.mlp.gate_proj`, F, C, c.mlpBias),
      up: linearOf(ck, `${p}.mlp.up_proj`, F, C, c.mlpBias),
      down: linearOf(ck, `${p}.mlp.down_proj`, C, F, c.mlpBias),
      window: c.layerTypes[l] === 'sliding' && c.slidingWindow ? c.slidingWindow : 0,
    });
  }
  const norm = load(ck, 'model.norm.weight', [C]);
  const lmHead = c.tieWordEmbeddings ? embed : load(ck, 'lm_head.weight', [V, C]);
  return { embed, layers, norm, lmHead };
}
