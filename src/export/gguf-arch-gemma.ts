// Gemma 2 and Gemma 3 in GGUF (llama.cpp's "gemma2" / "gemma3" archs, as convert_hf_to_gguf's Gemma2Model and
// Gemma3Model write them): the sandwich norms under llama.cpp's names with 1 added to every norm weight, the
// soft-caps and sliding window as keys. llama.cpp fixes what the config may vary otherwise (the sliding pattern,
// Gemma 3's local RoPE base, the score scale from head_dim), so a config that differs is refused.
import type { ModelConfig } from '../models/index.js';
import { gemmaOf } from '../models/gemma-config.js';
import { refuse, type GgufArch } from './gguf-arch.js';
import type { GgufMetadata } from './gguf-writer.js';

const NAMES = {
  input_layernorm: 'attn_norm', post_attention_layernorm: 'post_attention_norm',
  pre_feedforward_layernorm: 'ffn_norm', post_feedforward_layernorm: 'post_ffw_norm',
};

const f32 = (value: number) => ({ type: 'f32' as const, value });

/** What llama.cpp's Gemma graphs assume. `fullEvery`: a global layer every n-th layer; `big`: the layer count of
 *  the 27B model, whose scores scale by hidden / heads instead of head_dim. */
function check(c: ModelConfig, fullEvery: number, big: number): void {
  const g = gemmaOf(c).gemma;
  if (g.act !== 'tanh') refuse(c, 'exact-erf GELU (llama.cpp uses the tanh form)');
  if (c.attentionBias || c.attentionOutBias || c.mlpBias) refuse(c, 'projection bias');
  const want = c.numLayers === big ? c.hiddenSize / c.numHeads : c.headDim;
  if (Math.abs((c.attentionScale ?? 0) - want ** -0.5) > 1e-9) refuse(c, `query_pre_attn_scalar other than ${want}`);
  if (c.layerTypes.some((t, i) => (t === 'full') !== ((i + 1) % fullEvery === 0))) refuse(c, `sliding-window layers other than ${fullEvery - 1} of every ${fullEvery}`);
}

function keys(c: ModelConfig, arch: string): GgufMetadata {
  const g = gemmaOf(c).gemma;
  const meta: GgufMetadata = [[`${arch}.attention.sliding_window`, { type: 'u32', value: c.slidingWindow ?? c.maxPositions }]];
  if (g.attnSoftcap > 0) meta.push([`${arch}.attn_logit_softcapping`, f32(g.attnSoftcap)]);
  if (g.finalSoftcap > 0) meta.push([`${arch}.final_logit_softcapping`, f32(g.finalSoftcap)]);
  return meta;
}

const gemma2: GgufArch = {
  arch: 'gemma2', permuteQK: false, llamaKeys: false, names: NAMES, normShift: 1, slidingWindow: true,
  check(c) {
    check(c, 2, 46);
    // llama.cpp caps Gemma 2's scores and logits at 50 / 30 unless told otherwise: "none" cannot be said
    const g = gemmaOf(c).gemma;
    if (g.attnSoftcap === 0 || g.finalSoftcap === 0) refuse(c, 'Gemma 2 without soft-caps');
  },
  extra: (c) => keys(c, 'gemma2'),
};

const gemma3: GgufArch = {
  arch: 'gemma3', permuteQK: false, llamaKeys: false, names: NAMES, normShift: 1, slidingWindow: true,
  check(c) {
    check(c, 6, 62);
    const g = gemmaOf(c).gemma;
    if (g.attnSoftcap > 0) refuse(c, 'attention soft-capping in Gemma 3');
    const local = g.rope.sliding;
    if (local.theta !== 10000 || local.scaling !== null || local.rotaryFraction !== 1) refuse(c, 'local-layer RoPE other than theta 10000 unscaled');
    if (g.rope.full.rotaryFraction !== 1) refuse(c, 'partial rotary');
    if (c.ropeScaling !== null && c.ropeScaling.type !== 'linear') refuse(c, `${c.ropeScaling.type} RoPE scaling`);
  },
  extra: (c) => keys(c, 'gemma3'),
  leavesOut: (c) => (gemmaOf(c).gemma.multimodal ? 'the vision tower (llama.cpp loads it from a separate mmproj file): the GGUF is the text model' : null),
};

/** model_type -> llama.cpp arch for the Gemma families. */
export const GEMMA_ARCHS: Readonly<Record<string, GgufArch>> = { gemma2, gemma3_text: gemma3, gemma3 };
