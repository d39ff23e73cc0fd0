// One decode step for several independent generations of the shared decoder at once (continuous batching). Each
// row feeds one token at its own position into its own KV cache, under its own adapter (or none). The projections
// and the LM head run once for all rows (gemmRows reads each weight row once per step); RoPE, the cache and
// attention run per row. Every per-row result is computed by the same arithmetic whatever the batch holds:
// gemmRows sums each output element in a fixed order independent of M, the norms reduce within a row, and the
// elementwise and attention kernels are called on one row at a time. So a row's logits are bit-identical whether it
// is decoded alone (generate() decodes through here too) or beside others.
// Legend: B rows, C hidden, H heads, Hkv kv heads, D head dim, F ffn, V vocab, R LoRA rank.
import { Bf16Storage, Tensor, addRmsnorm, attention, computePrecision, embedding, rope, weightFormat } from '../tensor/index.js';
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

/** The batched decoder of a model, or null where it has none (other families, bf16 weights or compute): those
 *  decode through their own forward, one generation at a time. */
export function rowDecoder(model: Pick<CausalLM, 'forward'>): RowDecoder | null {
  if (!(model instanceof DecoderModel) || weightFormat() !== 'f32' || computePrecision() !== 'fp32') return null;
  const linears = model.linears();
  const { embed, lmHead } = model.weights;
  if ([embed, lmHead, ...linears.map((l) => l.weight)].some((w) => w.storage instanceof Bf16Storage)) return null;
  const index = new Map(linears.map((l, i) => [l, i]));
  return {
    step: (rows) => decodeStep(model, index, rows),
    attached: () => linears.map((l) => l.adapter),
  };
}

/** y [B, O] = x [B, I] W^T (+ bias), then each adapter group's rows get (x A^T * s) B^T added. */
function rowsLinear(lin: Linear, slot: number, x: Float32Array, rows: readonly DecodeRow[]): Float32Array {
  const K = kernels();
  const B = rows.length;
  const [O, I] = lin.weight.shape;
  const y = new Float32Array(B * O);
  K.gemmRows(y, x, lin.weight.data, B, O, I, false);
  if (lin.bias) K.add(y, y, lin.bias.data, B * O, O);
  const groups = new Map<LinearAdapter, number[]>();
  rows.forEach((r, b) => {
    const a = r.adapters?.[slot] ?? null;
    if (a) groups.set(a, [...(groups.get(a) ?? []), b]);
  });
  for (const [adapter, members] of groups) {
    const f = adapter.lowRank?.() ?? null;
    if (!f) {
      // an adapter without plain factors computes its own output, one row at a time (the same alone or batched)
      for (const b of members) y.set(adapter.apply(Tensor.from(x.slice(b * I, (b + 1) * I), [1, I]), lin).data, b * O);
      continue;
    }
    const R = f.A.shape[0];
    const g = members.length;
    const xg = new Float32Array(g * I); // [g, I] the group's rows
    members.forEach((b, i) => xg.set(x.subarray(b * I, (b + 1) * I), i * I));
    const u = new Float32Array(g * R);
    K.gemmRows(u, xg, f.A.data, g, R, I, false); // u = x A^T [g, R]
    K.scale(u, u, f.scale, g * R);
    const d = new Float32Array(g * O);
    K.gemmRows(d, u, f.B.data, g, O, R, false); // d = (s u) B^T [g, O]
    members.forEach((b, i) => K.axpy(y.subarray(b * O, (b + 1) * O), d.subarray(i * O, (i + 1) * O), 1, O));
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

/** The flat forward of DecoderModel.forward for one new token per row (T = 1), rows batched through the GEMMs. */
function decodeStep(model: DecoderModel, index: Map<Linear, number>, rows: readonly DecodeRow[]): Float32Array[] {
  const c = model.config;
  const B = rows.length;
  if (B === 0) return [];
  const [C, H, Hkv, D, eps] = [c.hiddenSize, c.numHeads, c.numKvHeads, c.headDim, c.rmsNormEps];
  const K = kernels();
  const pos = rowPositions(model, rows);
  const { cos, sin } = model.rotary;
  const lin = (l: Linear, x: Float32Array): Float32Array => rowsLinear(l, index.get(l) ?? -1, x, rows);
  const norm = (x: Float32Array, w: Tensor, n: number, width: number): Float32Array => {
    const out = new Float32Array(n * width);
    K.rmsnorm(out, new Float32Array(n), x, w.data, n, width, eps); // one row at a time, each reduced alone
    return out;
  };

  let x = embedding(model.weights.embed, Int32Array.from(rows, (r) => r.id), [B]); // [B, C]
  if (c.embeddingMultiplier !== 1) K.scale(x.data, x.data, c.embeddingMultiplier, B * C);
  const layers = model.weights.layers;
  let h = norm(x.data, layers.length ? layers[0].inputNorm : model.weights.norm, B, C);
  for (const [li, layer] of layers.entries()) {
    let q = lin(layer.q, h); // [B, H*D]
    let k = lin(layer.k, h); // [B, Hkv*D]
    const v = lin(layer.v, h);
    if (layer.qNorm) q = norm(q, layer.qNorm, B * H, D);
    if (layer.kNorm) k = norm(k, layer.kNorm, B * Hkv, D);
    const window = c.layerTypes[li] === 'sliding' && c.slidingWindow ? c.slidingWindow : 0;
    const att = new Float32Array(B * H * D);
    for (let b = 0; b < B; b++) {
      let qb = Tensor.from(q.subarray(b * H * D, (b + 1) * H * D), [1, 1, H, D]);
      let kb = Tensor.from(k.subarray(b * Hkv * D, (b + 1) * Hkv * D), [1, 1, Hkv, D]);
      const vb = Tensor.from(v.subarray(b * Hkv * D, (b + 1) * Hkv * D), [1, 1, Hkv, D]);
      if (c.ropeLayers[li]) {
        const p = pos.subarray(b, b + 1);
        qb = rope(qb, cos, sin, p);
        kb = rope(kb, cos, sin, p);
      }
      const [kc, vc] = rows[b].cache.append(li, kb, vb, 1);
      const out = attention(qb, kc, vc, { window, ...(c.attentionScale !== null ? { scale: c.attentionScale } : {}) });
      att.set(out.data, b * H * D);
    }
    const o = lin(layer.o, att);
    let r = addRmsnorm(x, Tensor.from(o, [B, C]), layer.postNorm, eps, { multiplier: c.residualMultiplier });
    x = r.sum;
    const gate = lin(layer.gate, r.out.data);
    const up = lin(layer.up, r.out.data);
    const F = gate.length / B;
    const act = new Float32Array(B * F);
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
  K.gemmRows(logits, h, head.data, B, V, C, false);
  return rows.map((_, b) => logits.subarray(b * V, (b + 1) * V));
}
