// Pieces every Gemma family shares: RMSNorm over (offset + w) computed in float32 as transformers' Gemma RMSNorm
// does, the GeGLU MLP, the sqrt(hidden)-scaled embedding, one rotary table per layer type, and the LM head with
// its optional soft-cap (inside the fused loss, and on returned logits).
// Legend: B batch, T tokens, C hidden, V vocab, F ffn.
import { Tensor, add, embedding, geglu, linear, rmsnorm, scale, softcap, view } from '../tensor/index.js';
import { headLoss } from './head-loss.js';
import { applyLinear, type Linear } from './linear.js';
import { lastRows } from './decoder.js';
import { RotaryTables } from './rope.js';
import type { GemmaRope, GemmaSpec } from './gemma-config.js';
import type { ForwardInput, ForwardOutput } from './types.js';

const FILLED = new Map<string, Tensor>();

/** A constant [n] tensor of `value` (cached: norms ask for the same few shapes on every call). */
function filled(value: number, n: number): Tensor {
  const key = `${value}:${n}`;
  let t = FILLED.get(key);
  if (!t) FILLED.set(key, (t = Tensor.from(new Float32Array(n).fill(value), [n])));
  return t;
}

/** x / sqrt(mean(x^2) + eps) * (offset + w) over the last dimension; Gemma 2/3 store w around 0 (offset 1),
 *  Gemma 4 around 1 (offset 0). offset + w is rounded to float32 first, as `1.0 + weight.float()` is. */
export function gemmaNorm(x: Tensor, w: Tensor, eps: number, offset: number): Tensor {
  return rmsnorm(x, offset === 0 ? w : add(w, filled(offset, w.size)), eps);
}

/** RMSNorm without a learned scale (Gemma 4's v_norm): x / sqrt(mean(x^2) + eps). */
export function unitNorm(x: Tensor, eps: number): Tensor {
  return rmsnorm(x, filled(1, x.shape[x.ndim - 1]), eps);
}

/** down(gelu(gate(h)) * up(h)), the GeGLU MLP. [B, T, C] -> [B, T, C] */
export function gegluMlp(gate: Linear, up: Linear, down: Linear, h: Tensor, act: GemmaSpec['act']): Tensor {
  return applyLinear(down, geglu(applyLinear(gate, h), applyLinear(up, h), act));
}

/** Token embeddings times the float32 sqrt(hidden) normaliser. ids [B*T] -> [B, T, C] */
export function scaledEmbedding(table: Tensor, ids: Int32Array, B: number, T: number, embedScale: number): Tensor {
  return scale(embedding(table, ids, [B, T]), embedScale);
}

/** Inverse frequencies of one layer type's RoPE over head dim D: the usual ones, or Gemma 4's proportional
 *  RoPE (the first floor(fraction * D / 2) frequencies 1 / theta^(2i/D), the rest 0, all divided by the
 *  linear factor). [D/2] */
function invFreqOf(r: GemmaRope, D: number): Float32Array | undefined {
  if (r.rotaryFraction === 1) return undefined;
  const f = Math.fround;
  const angles = Math.floor((r.rotaryFraction * D) / 2);
  const factor = r.scaling?.type === 'linear' ? r.scaling.factor : 1;
  return Float32Array.from({ length: D / 2 }, (_, i) => (i < angles ? f(f(1 / f(Math.pow(r.theta, f(f(2 * i) / D)))) / factor) : 0));
}

/** The rotary tables of the two layer types ("full" and "sliding"), each over its own head dim. */
export class LayerRopes {
  readonly full: RotaryTables;
  readonly sliding: RotaryTables;

  constructor(rope: GemmaSpec['rope'], fullDim: number, slidingDim: number) {
    this.full = new RotaryTables(fullDim, rope.full.theta, rope.full.scaling, invFreqOf(rope.full, fullDim));
    this.sliding = new RotaryTables(slidingDim, rope.sliding.theta, rope.sliding.scaling, invFreqOf(rope.sliding, slidingDim));
  }

  ensure(P: number): void {
    this.full.ensure(P);
    this.sliding.ensure(P);
  }

  of(kind: 'full' | 'sliding'): RotaryTables {
    return kind === 'full' ? this.full : this.sliding;
  }
}

/** Final hidden states x [B, T, C] (already normed) -> the loss and the logits asked for, through the LM head
 *  [V, C] and the optional final soft-cap (fused into the loss; applied to returned logits). */
export function gemmaHead(x: Tensor, head: Tensor, input: ForwardInput, cap: number): ForwardOutput {
  const { batch: B, seqLen: T } = input;
  const C = head.shape[1];
  const { loss, sequenceLogps } = headLoss(view(x, [B * T, C]), head, input, cap);
  const mode = input.logits ?? (input.targets ? 'none' : 'all');
  const logitsOf = (h: Tensor) => (cap > 0 ? softcap(linear(h, head), cap) : linear(h, head));
  let logits: Tensor | null = null;
  if (mode === 'all') logits = logitsOf(x);
  else if (mode === 'last') logits = logitsOf(lastRows(x, B, T, C));
  return { logits, loss, sequenceLogps };
}
