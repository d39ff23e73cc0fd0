// One decode step for several independent generations of the shared decoder at once (continuous batching). Each
// row feeds one token at its own position into its own KV cache, under its own adapter (or none). The projections
// and the LM head run once for all rows (gemmRows reads each weight row once per step; gemmRowsBf16 and gemmRowsI8
// the bf16 and int8 rows of --weights bf16 and int8); RoPE, the cache and attention run per row. Every per-row result is computed by the same arithmetic whatever the batch holds:
// gemmRows sums each output element in a fixed order independent of M, the norms reduce within a row, and the
// elementwise and attention kernels are called on one row at a time. So a row's logits are bit-identical whether it
// is decoded alone (generate() decodes through here too) or beside others.
// Legend: B rows, C hidden, H heads, Hkv kv heads, D head dim, F ffn, V vocab, R LoRA rank.
import { Bf16Storage, Tensor, addRmsnorm, computePrecision, embedding, inferenceBf16, inferenceInt8, weightFormat } from '../tensor/index.js';
import { kernels } from '../kernels/index.js';
import { ShitateError } from '../errors.js';
import { DecoderModel } from './decoder.js';
import type { KVCache } from './kv-cache.js';
import type { Linear, LinearAdapter } from './linear.js';
import type { CausalLM } from './types.js';

/** One generation's input to a decode step. */
export interface DecodeRow {
  /** the token fed at this step */
  id: number;
  /** the row's own cache (batch 1); its length is the token's position, and the step appends one position */
  cache: KVCache;
  /** the adapter layer of each of the model's linears, in linears() order; null for the bare base model */
  adapters: readonly (LinearAdapter | null)[] | null;
}

export interface RowDecoder {
  /** Feeds each row's token; returns each row's next-token logits [V] (views into one [B, V] buffer). */
  step(rows: readonly DecodeRow[]): Float32Array[];
  /** the adapter layers attached to the model's linears now, in the order DecodeRow.adapters takes them */
  attached(): (LinearAdapter | null)[];
}

/** The batched decoder of a model, or null where it has none (other families, bf16 compute, bf16 weights read
 *  outside the bf16 format): those decode through their own forward, one generation at a time. */
export function rowDecoder(model: Pick<CausalLM, 'forward'>): RowDecoder | null {
  // exactly the shared decoder: a subclass could change the forward this step mirrors
  if (!(model instanceof DecoderModel) || Object.getPrototypeOf(model) !== DecoderModel.prototype) return null;
  if (computePrecision() !== 'fp32') return null;
  const linears = model.linears();
  const { embed, lmHead } = model.weights;
  // weights held as bf16 multiply as bf16 only under the bf16 format (as in the forward's linear())
  if (weightFormat() !== 'bf16' && [embed, lmHead, ...linears.map((l) => l.weight)].some((w) => w.storage instanceof Bf16Storage)) return null;
  // one per model: every generation on it (a server's many) shares the index and the step buffers
  let decoder = decoders.get(model);
  if (!decoder) {
    const index = new Map(linears.map((l, i) => [l, i]));
    const scratch = new Scratch();
    decoder = {
      step: (rows) => decodeStep(model, index, scratch, rows),
      attached: () => linears.map((l) => l.adapter),
    };
    decoders.set(model, decoder);
  }
  return decoder;
}

const decoders = new WeakMap<DecoderModel, RowDecoder>();

/** Buffers reused from step to step (a step's intermediates never outlive it): one per linear output and per layer
 *  role, grown to the largest batch seen. Saves the allocations and garbage collections of ~50 buffers per step. */
class Scratch {
  private readonly bufs = new Map<Linear | string, Float32Array>();

  take(key: Linear | string, n: number): Float32Array {
    let buf = this.bufs.get(key);
    if (!buf || buf.length < n) {
      buf = new Float32Array(n);
      this.bufs.set(key, buf);
    }
    return buf.subarray(0, n);
  }

  private lensBuf = new Int32Array(0);

  /** The attention lengths of a step's rows (n entries). */
  lens(n: number): Int32Array {
    if (this.lensBuf.length < n) this.lensBuf = new Int32Array(n);
    return this.lensBuf.subarray(0, n);
  }
}

/** Rows that share one adapter set, consecutive in the step's order: [start, end). */
interface Group {
  start: number;
  end: number;
  adapters: readonly (LinearAdapter | null)[];
}

/** The step's row order: rows grouped by adapter set (in order of first appearance, base rows first), so each
 *  group's rows are contiguous in every [B, ...] buffer. Row results do not depend on their order. */
function groupRows(rows: readonly DecodeRow[]): { order: number[]; groups: Group[] } {
  const bySet = new Map<readonly (LinearAdapter | null)[] | null, number[]>([[null, []]]);
  rows.forEach((r, b) => {
    const list = bySet.get(r.adapters);
    if (list) list.push(b);
    else bySet.set(r.adapters, [b]);
  });
  const order: number[] = [];
  const groups: Group[] = [];
  for (const [adapters, members] of bySet) {
    if (adapters && members.length > 0) groups.push({ start: order.length, end: order.length + members.length, adapters });
    order.push(...members);
  }
  return { order, groups };
}

/** y [B, O] = x [B, I] W^T with the weights as inference holds them: float32, bf16 (--weights bf16: r(x) times the
 *  bf16 rows, as the forward's linear()), or int8 rows and scales (--weights int8). */
function weightRows(y: Float32Array, x: Float32Array, w: Tensor, B: number, O: number, I: number): void {
  const w16 = inferenceBf16(w);
  if (w16) return kernels().gemmRowsBf16(y, x, w16, B, O, I, false);
  const q = inferenceInt8(w);
  if (q) kernels().gemmRowsI8(y, x, q.q, q.scale, B, O, I, false);
  else kernels().gemmRows(y, x, w.data, B, O, I, false);
}

/** y [B, O] = x [B, I] W^T (+ bias), then each adapter group's rows get (x A^T * s) B^T added. */
function rowsLinear(lin: Linear, slot: number, x: Float32Array, B: number, groups: readonly Group[], scratch: Scratch): Float32Array {
  const K = kernels();
  const [O, I] = lin.weight.shape;
  const y = scratch.take(lin, B * O); // written whole by gemmRows
  weightRows(y, x, lin.weight, B, O, I);
  if (lin.bias) K.add(y, y, lin.bias.data, B * O, O);
  for (const { start, end, adapters } of groups) {
    const adapter = adapters[slot] ?? null;
    if (!adapter) continue;
    const f = adapter.lowRank?.() ?? null;
    if (!f) {
      // an adapter without plain factors computes its own output, one row at a time (the same alone or batched)
      for (let b = start; b < end; b++) y.set(adapter.apply(Tensor.from(x.slice(b * I, (b + 1) * I), [1, I]), lin).data, b * O);
      continue;
    }
    const R = f.A.shape[0];
    const g = end - start;
    const u = scratch.take('loraU', g * R); // written whole by gemmRows
    K.gemmRows(u, x.subarray(start * I, end * I), f.A.data, g, R, I, false); // u = x A^T [g, R]
    K.scale(u, u, f.scale, g * R);
    K.gemmRows(y.subarray(start * O, end * O), u, f.B.data, g, O, R, true); // y += (s u) B^T [g, O]
  }
  return y;
}

/** Positions of the rows' tokens (their caches' lengths), checked against the context and each cache. */
function rowPositions(model: DecoderModel, rows: readonly DecodeRow[]): Int32Array {
  const pos = Int32Array.from(rows, (r) => r.cache.length);
  for (const [b, r] of rows.entries()) {
    if (r.cache.batch !== 1) {
      throw new ShitateError('E_INTERNAL', `decode step: row ${b} has a cache of batch ${r.cache.batch}, expected 1`, 'this is a bug in shitate; please report it');
    }
    if (pos[b] >= model.config.maxPositions) {
      throw new ShitateError('E_CONTEXT', `decode step: position ${pos[b]} exceeds the model's context of ${model.config.maxPositions} tokens`,
        'lower max_new_tokens or shorten the prompt so prompt + output fits the context');
    }
  }
  model.rotary.ensure(Math.max(...pos) + 1);
  return pos;
}

/** Layer li's attention for each row: RoPE at the row's position, the row's cache, attention over it. q [B, H*D],
 *  k and v [B, Hkv*D] -> [B, H*D]. RoPE rotates each row alone (in place) and each row's query attends to its own
 *  cache in one call for all rows (attentionDecodeRows), computed as that row alone, so no row's result depends on
 *  the others. */
function rowsAttention(model: DecoderModel, li: number, rows: readonly DecodeRow[], pos: Int32Array, q: Float32Array,
  k: Float32Array, v: Float32Array, scratch: Scratch): Float32Array {
  const c = model.config;
  const [H, Hkv, D, B] = [c.numHeads, c.numKvHeads, c.headDim, rows.length];
  const K = kernels();
  if (c.ropeLayers[li]) {
    const { cos, sin } = model.rotary;
    K.rope(q, q, cos, sin, pos, B, H, D);
    K.rope(k, k, cos, sin, pos, B, Hkv, D);
  }
  const window = c.layerTypes[li] === 'sliding' && c.slidingWindow ? c.slidingWindow : 0;
  const scale = c.attentionScale ?? 1 / Math.sqrt(D);
  const out = scratch.take('attention', B * H * D); // every row written by its attention
  const ks = new Array<Float32Array>(B);
  const vs = new Array<Float32Array>(B);
  const lens = scratch.lens(B);
  const R = Hkv * D;
  for (let b = 0; b < B; b++) {
    const cache = rows[b].cache;
    cache.appendRow(li, k.subarray(b * R, (b + 1) * R), v.subarray(b * R, (b + 1) * R));
    const kv = cache.layerKV(li);
    ks[b] = kv.k;
    vs[b] = kv.v;
    lens[b] = pos[b] + 1;
  }
  K.attentionDecodeRows(out, q, ks, vs, lens, B, H, Hkv, D, scale, window, 0);
  return out;
}

/** The flat forward of DecoderModel.forward for one new token per row (T = 1), rows batched through the GEMMs.
 *  Rows run grouped by adapter set; the logits come back in the callers' order. */
function decodeStep(model: DecoderModel, index: Map<Linear, number>, scratch: Scratch, input: readonly DecodeRow[]): Float32Array[] {
  const c = model.config;
  const B = input.length;
  if (B === 0) return [];
  const { order, groups } = groupRows(input);
  const rows = order.map((i) => input[i]);
  const [C, H, Hkv, D, eps] = [c.hiddenSize, c.numHeads, c.numKvHeads, c.headDim, c.rmsNormEps];
  const K = kernels();
  const pos = rowPositions(model, rows);
  const lin = (l: Linear, x: Float32Array): Float32Array => rowsLinear(l, index.get(l) ?? -1, x, B, groups, scratch);
  const norm = (x: Float32Array, w: Tensor, n: number, width: number, role: string): Float32Array => {
    const out = scratch.take(role, n * width);
    K.rmsnorm(out, scratch.take('rstd', n), x, w.data, n, width, eps); // one row at a time, each reduced alone
    return out;
  };

  let x = embedding(model.weights.embed, Int32Array.from(rows, (r) => r.id), [B]); // [B, C]
  if (c.embeddingMultiplier !== 1) K.scale(x.data, x.data, c.embeddingMultiplier, B * C);
  const layers = model.weights.layers;
  let h = norm(x.data, layers.length ? layers[0].inputNorm : model.weights.norm, B, C, 'h');
  for (const [li, layer] of layers.entries()) {
    let q = lin(layer.q, h); // [B, H*D]
    let k = lin(layer.k, h); // [B, Hkv*D]
    const v = lin(layer.v, h);
    if (layer.qNorm) q = norm(q, layer.qNorm, B * H, D, 'qNorm');
    if (layer.kNorm) k = norm(k, layer.kNorm, B * Hkv, D, 'kNorm');
    const o = lin(layer.o, rowsAttention(model, li, rows, pos, q, k, v, scratch));
    let r = addRmsnorm(x, Tensor.from(o, [B, C]), layer.postNorm, eps, { multiplier: c.residualMultiplier });
    x = r.sum;
    const gate = lin(layer.gate, r.out.data);
    const up = lin(layer.up, r.out.data);
    const F = gate.length / B;
    const act = scratch.take('act', B * F);
    for (let b = 0; b < B; b++) K.swiglu(act.subarray(b * F, (b + 1) * F), gate.subarray(b * F, (b + 1) * F), up.subarray(b * F, (b + 1) * F), F);
    const next = layers[li + 1];
    r = addRmsnorm(x, Tensor.from(lin(layer.down, act), [B, C]), next ? next.inputNorm : model.weights.norm, eps,
      { multiplier: c.residualMultiplier });
    x = r.sum;
    h = r.out.data;
  }
  for (const r of rows) r.cache.advance(1);
  if (c.logitsScaling !== 1) K.scale(h, h, 1 / c.logitsScaling, B * C);
  const head = model.weights.lmHead;
  const V = head.shape[0];
  const logits = new Float32Array(B * V);
  weightRows(logits, h, head, B, V, C);
  const out = new Array<Float32Array>(B);
  order.forEach((i, b) => {
    out[i] = logits.subarray(b * V, (b + 1) * V);
  });
  return out;
}
