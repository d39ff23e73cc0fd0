// Which GGML type each tensor gets under a --quant preset. f16/bf16/q8_0 follow convert_hf_to_gguf (1-D
// tensors and norms stay F32); q4_k_m follows llama-quantize's Q4_K_M mix (llama_tensor_get_type): Q4_K
// everywhere, Q6_K for the output matrix (or the tied embedding) and for attn_v / ffn_down of the layers
// use_more_bits picks (Falcon's ffn_down its own way), Q5_K for a fused attn_qkv, with the fallbacks for widths
// that are not a multiple of 256.
import { ShitateError } from '../errors.js';
import { GgmlType, blockSize, typeName, type Quant } from './gguf-types.js';

export interface MixTensor {
  /** GGUF name */
  name: string;
  /** GGUF shape, ne[0] = row width */
  ne: number[];
}

export interface MixChoice {
  type: GgmlType;
  /** set when llama.cpp's shape fallback replaced the preferred type */
  fallbackFrom?: GgmlType;
}

/** llama-quant.cpp's use_more_bits: the first and last eighth of the layers, and every third in between. */
export function useMoreBits(i: number, n: number): boolean {
  return i < Math.trunc(n / 8) || i >= Math.trunc((7 * n) / 8) || (i - Math.trunc(n / 8)) % 3 === 2;
}

/** Small 2-D tensors convert_hf_to_gguf keeps F32 and llama-quantize leaves alone: the depthwise conv kernels of
 *  the short-convolution and linear-attention layers. */
const ALWAYS_F32 = /\.(shortconv\.conv|ssm_conv1d)\.weight$/;

const quantizable = (t: MixTensor): boolean => t.ne.length >= 2 && t.name.endsWith('weight') && !t.name.includes('_norm.weight') && !ALWAYS_F32.test(t.name);

/** tensor_type_fallback: a K-quant on a width that is not a multiple of 256 drops to a 32-wide type, and to
 *  F16 when even 32 does not divide it. */
function fallback(type: GgmlType, width: number): MixChoice {
  if (width % blockSize(type) === 0) return { type };
  const next = { [GgmlType.Q4_K]: GgmlType.Q5_0, [GgmlType.Q5_K]: GgmlType.Q5_1, [GgmlType.Q6_K]: GgmlType.Q8_0 }[type as number] ?? GgmlType.F16;
  return { type: width % blockSize(next) === 0 ? next : GgmlType.F16, fallbackFrom: type };
}

/** ffn_down of layer i of n: Q6_K where use_more_bits says, and for Falcon Q6_K in the first sixteenth, Q5_K
 *  where use_more_bits says, Q4_K elsewhere. */
function ffnDown(i: number, n: number, arch: string): GgmlType {
  if (arch === 'falcon') return i < Math.trunc(n / 16) ? GgmlType.Q6_K : useMoreBits(i, n) ? GgmlType.Q5_K : GgmlType.Q4_K;
  return useMoreBits(i, n) ? GgmlType.Q6_K : GgmlType.Q4_K;
}

function q4km(tensors: readonly MixTensor[], arch: string): MixChoice[] {
  const tied = !tensors.some((t) => t.name === 'output.weight');
  const nV = tensors.filter((t) => t.name.includes('attn_v.weight')).length;
  const nDown = tensors.filter((t) => t.name.includes('ffn_down')).length;
  let iV = 0;
  let iDown = 0;
  return tensors.map((t) => {
    if (!quantizable(t)) return { type: GgmlType.F32 };
    let type: GgmlType = GgmlType.Q4_K;
    if (t.name === 'output.weight' || (tied && t.name === 'token_embd.weight')) {
      type = t.ne[0] % 256 !== 0 ? GgmlType.Q8_0 : GgmlType.Q6_K;
    } else if (t.name.includes('attn_v.weight')) {
      if (useMoreBits(iV++, nV)) type = GgmlType.Q6_K;
    } else if (t.name.includes('ffn_down')) {
      type = ffnDown(iDown++, nDown, arch);
    } else if (t.name.includes('attn_qkv.weight')) {
      type = GgmlType.Q5_K;
    }
    return fallback(type, t.ne[0]);
  });
}

/** The type of every tensor (same order) under `quant`; `arch` (general.architecture) for llama-quantize's
 *  per-arch rules. */
export function chooseTypes(quant: Quant, tensors: readonly MixTensor[], arch = 'llama'): MixChoice[] {
  if (quant === 'q4_k_m') return q4km(tensors, arch);
  const want = { f32: GgmlType.F32, f16: GgmlType.F16, bf16: GgmlType.BF16, q8_0: GgmlType.Q8_0 }[quant];
  return tensors.map((t) => {
    if (t.ne.length < 2 || t.name.endsWith('_norm.weight') || !t.name.endsWith('.weight') || ALWAYS_F32.test(t.name)) return { type: GgmlType.F32 };
    // gguf-py's Q8_0 raises on a width it cannot block and convert falls back to F16
    return want === GgmlType.Q8_0 && t.ne[0] % 32 !== 0 ? { type: GgmlType.F16, fallbackFrom: GgmlType.Q8_0 } : { type: want };
  });
}

/** Refuses a preset that could not quantize the model's matrices at all: a hidden size no 32-wide block
 *  divides leaves llama.cpp's fallbacks nothing but F16. (Widths 256 does not divide only move single
 *  tensors to Q5_0 / Q8_0, as llama-quantize does; the export lists them.) */
export function checkQuantFits(quant: Quant, hidden: number): void {
  if (quant !== 'q4_k_m' && quant !== 'q8_0') return;
  if (hidden % 32 === 0) return;
  throw new ShitateError('E_EXPORT_SHAPE', `gguf: --quant ${quant} needs rows that are a multiple of 32 values, found hidden_size ${hidden}`,
    'use --quant f16 or bf16 for this model');
}

/** One line per fallback, for the export report. */
export function describeFallbacks(tensors: readonly MixTensor[], choices: readonly MixChoice[]): string[] {
  return choices.flatMap((c, i) => (c.fallbackFrom === undefined ? [] :
    [`${tensors[i].name}: width ${tensors[i].ne[0]} does not fit ${typeName(c.fallbackFrom)} blocks, written as ${typeName(c.type)}`]));
}
