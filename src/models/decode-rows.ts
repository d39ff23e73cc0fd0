// One step for several independent generations of the shared decoder at once (continuous batching). Each row feeds
// its tokens at their own positions into its own KV cache, under its own adapter (or none): one token for a
// generation that is decoding, a chunk of the prompt for one that is prefilling, so prompts and decoding share the
// weight reads of a step. The projections and the LM head run once for all tokens of all rows (gemmRows reads each
// weight row once per step; gemmRowsBf16 and gemmRowsI8 the bf16 and int8 rows of --weights bf16 and int8); RoPE, the
// cache and attention run per row. Every per-token result is computed by the same arithmetic whatever the step holds:
// the row GEMMs sum each output element in a fixed order independent of M, the norms reduce within a token, the
// per-token kernels (swigluRows, addRmsnormRows, ropeRows) compute each token as a call for it alone, and each row
// attends to its own cache alone (decoding rows and short chunks one query at a time through attentionDecodeRows, a
// longer chunk through attention() over its cache), the path chosen by the row's own sizes. So a row's logits are
// bit-identical whether it is stepped alone (generate() prefills and decodes through here too) or beside others.
// Legend: B rows, M tokens over all rows, C hidden, H heads, Hkv kv heads, D head dim, F ffn, V vocab, R LoRA rank.
import { Bf16Storage, Tensor, computePrecision, embeddingRows, inferenceBf16, inferenceInt8, lineAlignedFloat32, weightFormat } from '../tensor/index.js';
import { kernels } from '../kernels/index.js';
import { ShitateError } from '../errors.js';
import { DecoderModel } from './decoder.js';
import type { KVCache, KvCacheFormat } from './kv-cache.js';
import type { Linear, LinearAdapter } from './linear.js';
import type { CausalLM } from './types.js';

/** One generation's input to a step. */
export interface DecodeRow {
  /** the tokens fed at this step, at positions cache.length, cache.length + 1, ...: the last sampled token while
   *  decoding, or the next chunk of the prompt while prefilling */
  ids: readonly number[];
  /** the row's own cache (batch 1); the step appends one position per token */
  cache: KVCache;
  /** the adapter layer of each of the model's linears, in linears() order; null for the bare base model */
  adapters: readonly (LinearAdapter | null)[] | null;
}

export interface RowDecoder {
  /** Feeds each row's tokens; returns each row's next-token logits after its last token [V] (views into one [B, V]
   *  buffer, valid until the next step). */
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
 *  role, grown (by half at least) to the largest batch seen. Saves the allocations and garbage collections of ~50
 *  buffers per step. */
class Scratch {
  /** per key: the buffer, and the view of its first n values handed out last (steps repeat their sizes) */
  private readonly bufs = new Map<Linear | string, { buf: Float32Array; view: Float32Array }>();

  take(key: Linear | string, n: number): Float32Array {
    let entry = this.bufs.get(key);
    if (!entry || entry.buf.length < n) {
      // grown by half at least: a burst of requests raises the step's size a little each step, and a fresh
      // zero-filled buffer per linear per step cost more than the step's work (~100 MB a step at 150 tokens)
      const buf = lineAlignedFloat32(Math.max(n, Math.ceil(1.5 * (entry?.buf.length ?? 0)))); // kernels' loads on cache lines
      entry = { buf, view: buf };
      this.bufs.set(key, entry);
    }
    if (entry.view.length !== n) entry.view = entry.buf.subarray(0, n);
    return entry.view;
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

/** An empty buffer that stands in a reused argument list (loraArgs, cacheLists, manyArgs) for one released after a
 *  call; NO_BUFFER16 and NO_BUFFER8 in the bf16 and int8 weights' lists. */
const NO_BUFFER = new Float32Array(0);
const NO_BUFFER16 = new Uint16Array(0);
const NO_BUFFER8 = new Int8Array(0);

/** Per-group arguments of loraRows, reused from call to call and grown as needed (a step has a handful of adapter
 *  groups; a call reads the first G entries). */
const loraArgs = {
  as: [] as Float32Array[], bs: [] as Float32Array[],
  starts: new Int32Array(8), ends: new Int32Array(8), ranks: new Int32Array(8), scales: new Float32Array(8),
};

function loraSlot(g: number): typeof loraArgs {
  if (g >= loraArgs.starts.length) {
    const n = 2 * (g + 1);
    Object.assign(loraArgs, { starts: new Int32Array(n), ends: new Int32Array(n), ranks: new Int32Array(n), scales: new Float32Array(n) });
  }
  return loraArgs;
}

/** The per-call lists of weightRowsMany, reused from call to call (a call reads the first S entries). */
const manyArgs = {
  cs: [] as Float32Array[], ws32: [] as Float32Array[], ws16: [] as Uint16Array[], qs: [] as Int8Array[], scales: [] as Float32Array[],
  Ns: new Int32Array(4),
};

/** weightRows for several linears that read the same x [B, I] (q, k and v; gate and up), into ys: one call when
 *  all hold their weights in one format (float32, bf16 or int8; the same bits as separate calls, the rows prepared
 *  once and all weight rows shared out over the threads together), else one call each. */
function weightRowsMany(ys: readonly Float32Array[], x: Float32Array, lins: readonly Linear[], B: number, I: number): void {
  const K = kernels();
  const S = lins.length;
  const separately = (): void => lins.forEach((l, i) => weightRows(ys[i], x, l.weight, B, l.weight.shape[0], I));
  if (S === 1) return separately();
  const w16 = lins.map((l) => inferenceBf16(l.weight));
  const q8 = lins.map((l, i) => (w16[i] ? null : inferenceInt8(l.weight)));
  const format = w16.every((w) => w !== null) ? 'bf16' : q8.every((q) => q !== null) ? 'int8'
    : w16.every((w) => w === null) && q8.every((q) => q === null) ? 'f32' : 'mixed';
  if (format === 'mixed') return separately();
  const { cs, ws32, ws16, qs, scales } = manyArgs;
  if (manyArgs.Ns.length < S) manyArgs.Ns = new Int32Array(2 * S);
  lins.forEach((l, i) => {
    cs[i] = ys[i];
    manyArgs.Ns[i] = l.weight.shape[0];
    if (format === 'bf16') ws16[i] = w16[i]!;
    else if (format === 'int8') [qs[i], scales[i]] = [q8[i]!.q, q8[i]!.scale];
    else ws32[i] = l.weight.data;
  });
  if (format === 'bf16') K.gemmRowsBf16Many(cs, x, ws16, manyArgs.Ns, S, B, I, false);
  else if (format === 'int8') K.gemmRowsI8Many(cs, x, qs, scales, manyArgs.Ns, S, B, I, false);
  else K.gemmRowsMany(cs, x, ws32, manyArgs.Ns, S, B, I, false);
  // hold no weights or outputs past the call (the lists keep their length: no reallocation)
  cs.fill(NO_BUFFER, 0, S);
  ws32.fill(NO_BUFFER, 0, ws32.length);
  scales.fill(NO_BUFFER, 0, scales.length);
  ws16.fill(NO_BUFFER16, 0, ws16.length);
  qs.fill(NO_BUFFER8, 0, qs.length);
}

/** y [B, O] = x [B, I] W^T (+ bias), then each adapter group's rows get (x A^T * s) B^T added (B: tokens), all
 *  groups' deltas in one loraRows call; for several linears on the same x (q, k, v), their base products in one
 *  weightRowsMany call. */
function rowsLinears(lins: readonly Linear[], slots: readonly number[], x: Float32Array, B: number, groups: readonly Group[],
  scratch: Scratch): Float32Array[] {
  const I = lins[0].weight.shape[1];
  const ys = lins.map((l) => scratch.take(l, B * l.weight.shape[0])); // written whole by the row GEMMs
  weightRowsMany(ys, x, lins, B, I);
  lins.forEach((l, i) => adapterRows(l, slots[i], ys[i], x, B, groups));
  return ys;
}

/** A linear's bias and its adapter groups' deltas added to its base product y [B, O] of x [B, I]. */
function adapterRows(lin: Linear, slot: number, y: Float32Array, x: Float32Array, B: number, groups: readonly Group[]): void {
  const K = kernels();
  const [O, I] = lin.weight.shape;
  if (lin.bias) K.add(y, y, lin.bias.data, B * O, O);
  let G = 0;
  for (const { start, end, adapters } of groups) {
    const adapter = adapters[slot] ?? null;
    if (!adapter) continue;
    const f = adapter.lowRank?.() ?? null;
    if (!f) {
      // an adapter without plain factors computes its own output, one row at a time (the same alone or batched)
      for (let b = start; b < end; b++) y.set(adapter.apply(Tensor.from(x.slice(b * I, (b + 1) * I), [1, I]), lin).data, b * O);
      continue;
    }
    const args = loraSlot(G);
    args.starts[G] = start;
    args.ends[G] = end;
    args.ranks[G] = f.A.shape[0];
    args.scales[G] = f.scale;
    args.as[G] = f.A.data;
    args.bs[G] = f.B.data;
    G++;
  }
  if (G > 0) {
    const { as, bs, starts, ends, ranks, scales } = loraArgs;
    K.loraRows(y, x, as, bs, scales, starts, ends, ranks, G, B, I, O);
    as.fill(NO_BUFFER, 0, G); // hold no adapter's factors past the call (same length: no reallocation)
    bs.fill(NO_BUFFER, 0, G);
  }
}

/** Int32 buffers reused from step to step, one per role (a step's ids, positions and layout never outlive it). A
 *  fresh Int32Array of more than 16 values lives outside V8's heap, and the handful a step made had V8 collect
 *  garbage every step or two under "external memory pressure" (3-7 ms each, with the model's weights outside the
 *  heap too). */
const intBufs = new Map<string, Int32Array>();

/** n int32 values for `role`, to be written whole before they are read. */
function ints(role: string, n: number): Int32Array {
  let buf = intBufs.get(role);
  if (!buf || buf.length < n) {
    buf = new Int32Array(Math.max(n, 2 * (buf?.length ?? 16)));
    intBufs.set(role, buf);
  }
  return buf.subarray(0, n);
}

/** The first position of each row (its cache's length), checked against the model's context. */
function rowPositions(model: DecoderModel, rows: readonly DecodeRow[]): Int32Array {
  const pos = ints('pos', rows.length);
  rows.forEach((r, b) => {
    pos[b] = r.cache.length;
  });
  let last = 0;
  for (const [b, r] of rows.entries()) {
    if (r.cache.batch !== 1) {
      throw new ShitateError('E_INTERNAL', `decode step: row ${b} has a cache of batch ${r.cache.batch}, expected 1`, 'this is a bug in shitate; please report it');
    }
    if (r.ids.length === 0) throw new ShitateError('E_INTERNAL', `decode step: row ${b} feeds no token`, 'this is a bug in shitate; please report it');
    const end = pos[b] + r.ids.length;
    if (end > model.config.maxPositions) {
      throw new ShitateError('E_CONTEXT', `decode step: position ${end - 1} exceeds the model's context of ${model.config.maxPositions} tokens`,
        'lower max_new_tokens or shorten the prompt so prompt + output fits the context');
    }
    last = Math.max(last, end); // each cache checks its own capacity as the tokens are appended (appendRows)
  }
  model.rotary.ensure(last);
  return pos;
}

/** Where each row's tokens sit among the step's M tokens: row b (in step order) holds [start[b], start[b] + T[b]). */
interface Layout {
  start: Int32Array;
  M: number;
  /** position of each of the M tokens */
  tokenPos: Int32Array;
  /** rows whose queries attend one at a time (decoding rows, and prompt chunks over short caches), in step order,
   *  with each one's attention length (its last position + 1) and query count, and their queries in all */
  perQuery: number[];
  lens: Int32Array;
  tq: Int32Array;
  perQueryTokens: number;
  /** rows whose chunk attends through attention()'s blocked path */
  blocked: number[];
  /** whether the rows' caches hold bf16 (else float32) keys and values */
  bf16: boolean;
}

/** A chunk of T queries over Tk cached positions attends one query at a time up to this many query-key pairs (a
 *  prompt's first chunks, short prompts); beyond it the blocked path of attention() is faster. Decided by the row's
 *  own T and Tk, so a row takes the same path alone or batched. */
const PER_QUERY_MAX = 8192;

function layout(rows: readonly DecodeRow[], pos: Int32Array): Layout {
  const start = ints('start', rows.length);
  let M = 0;
  rows.forEach((r, b) => {
    start[b] = M;
    M += r.ids.length;
  });
  const tokenPos = ints('tokenPos', M);
  const perQuery: number[] = [];
  const blocked: number[] = [];
  rows.forEach((r, b) => {
    const T = r.ids.length;
    for (let t = 0; t < T; t++) tokenPos[start[b] + t] = pos[b] + t;
    (T === 1 || T * (pos[b] + T) <= PER_QUERY_MAX ? perQuery : blocked).push(b);
  });
  const tq = ints('tq', perQuery.length);
  const lens = ints('lens', perQuery.length);
  perQuery.forEach((b, i) => {
    tq[i] = rows[b].ids.length;
    lens[i] = pos[b] + tq[i];
  });
  const perQueryTokens = tq.reduce((n, t) => n + t, 0);
  return { start, M, tokenPos, perQuery, lens, tq, perQueryTokens, blocked, bf16: cacheFormat(rows) === 'bf16' };
}

/** Copies the query rows of the given rows between the step's [M, width] layout and a packed buffer holding only
 *  theirs, in order: into `packed` (toPacked) or back out of it. */
function movePacked(packed: Float32Array, full: Float32Array, lay: Layout, rows: readonly DecodeRow[], which: readonly number[],
  width: number, toPacked: boolean): void {
  let at = 0;
  for (const b of which) {
    const [from, n] = [lay.start[b] * width, rows[b].ids.length * width];
    if (toPacked) packed.set(full.subarray(from, from + n), at);
    else full.set(packed.subarray(at, at + n), from);
    at += n;
  }
}

/** The per-row key and value buffers handed to attentionDecodeRows (float32 caches) or attentionDecodeRowsBf16 (bf16
 *  caches), reused from layer to layer (it reads the first B). */
const cacheLists = { ks: [] as Float32Array[], vs: [] as Float32Array[], ks16: [] as Uint16Array[], vs16: [] as Uint16Array[] };

/** Fills ks and vs with the first B1 rows' layer buffers (read by `key` and `value`), runs `call` and empties them
 *  again (the lists hold no cache past the call and keep their length: no reallocation). */
function withCacheLists<T>(ks: T[], vs: T[], none: T, rows: readonly DecodeRow[], which: readonly number[],
  key: (c: KVCache) => T, value: (c: KVCache) => T, call: () => void): void {
  which.forEach((b, i) => {
    ks[i] = key(rows[b].cache);
    vs[i] = value(rows[b].cache);
  });
  call();
  ks.fill(none, 0, which.length);
  vs.fill(none, 0, which.length);
}

/** The format every row's cache holds its keys and values in (a step's rows share one kernel call). */
function cacheFormat(rows: readonly DecodeRow[]): KvCacheFormat {
  const f = rows[0].cache.format;
  if (rows.some((r) => r.cache.format !== f)) {
    throw new ShitateError('E_INTERNAL', `decode step: expected every row's cache in one format, found ${[...new Set(rows.map((r) => r.cache.format))].join(' and ')}`,
      'this is a bug in shitate; please report it');
  }
  return f;
}

/** Layer li's attention for each row: RoPE at each token's position (in place), the tokens' keys and values into the
 *  row's cache, then each row's queries against its own cache. q [M, H*D], k and v [M, Hkv*D] -> [M, H*D]. Decoding
 *  rows and short chunks attend one query at a time in one call for all of them (attentionDecodeRows); a longer
 *  chunk attends through attention() over its cache, as the forward does. No row's result depends on the others. */
function rowsAttention(model: DecoderModel, li: number, rows: readonly DecodeRow[], lay: Layout, q: Float32Array,
  k: Float32Array, v: Float32Array, scratch: Scratch): Float32Array {
  const c = model.config;
  const [H, Hkv, D, M] = [c.numHeads, c.numKvHeads, c.headDim, lay.M];
  const K = kernels();
  if (c.ropeLayers[li]) {
    const { cos, sin } = model.rotary;
    K.ropeRows(q, q, cos, sin, lay.tokenPos, M, H, D);
    K.ropeRows(k, k, cos, sin, lay.tokenPos, M, Hkv, D);
  }
  const window = c.layerTypes[li] === 'sliding' && c.slidingWindow ? c.slidingWindow : 0;
  const scale = c.attentionScale ?? 1 / Math.sqrt(D);
  const out = scratch.take('attention', M * H * D); // every token written by its row's attention
  const R = Hkv * D;
  const QD = H * D;
  rows.forEach((r, b) => r.cache.appendRows(li, k, v, lay.start[b], r.ids.length));
  const B1 = lay.perQuery.length;
  const { bf16 } = lay;
  if (B1 > 0) {
    const dense = B1 === rows.length; // every row attends per query: q and out are packed as the kernel takes them
    const q1 = dense ? q : scratch.take('q1', lay.perQueryTokens * QD);
    const o1 = dense ? out : scratch.take('o1', lay.perQueryTokens * QD);
    if (!dense) movePacked(q1, q, lay, rows, lay.perQuery, QD, true);
    const { ks, vs, ks16, vs16 } = cacheLists;
    if (bf16) {
      withCacheLists(ks16, vs16, NO_BUFFER16, rows, lay.perQuery, (c) => c.layerKBits(li), (c) => c.layerVBits(li),
        () => K.attentionDecodeRowsBf16(o1, q1, ks16, vs16, lay.lens, lay.tq, B1, H, Hkv, D, scale, window, 0));
    } else {
      withCacheLists(ks, vs, NO_BUFFER, rows, lay.perQuery, (c) => c.layerK(li), (c) => c.layerV(li),
        () => K.attentionDecodeRows(o1, q1, ks, vs, lay.lens, lay.tq, B1, H, Hkv, D, scale, window, 0));
    }
    if (!dense) movePacked(o1, out, lay, rows, lay.perQuery, QD, false);
  }
  for (const b of lay.blocked) {
    const [s, T] = [lay.start[b], rows[b].ids.length];
    const Tk = lay.tokenPos[s] + T;
    const cache = rows[b].cache;
    const [o, lse, qs] = [out.subarray(s * QD, (s + T) * QD), scratch.take('lse', H * T), q.subarray(s * QD, (s + T) * QD)];
    if (bf16) { // each block of keys and values widened as it is read
      K.attentionKvBf16(o, lse, qs, cache.layerKBits(li).subarray(0, Tk * R), cache.layerVBits(li).subarray(0, Tk * R),
        null, null, 1, T, Tk, H, Hkv, D, scale, 1, window, 0);
    } else {
      K.attention(o, lse, qs, cache.layerK(li).subarray(0, Tk * R), cache.layerV(li).subarray(0, Tk * R),
        null, null, 1, T, Tk, H, Hkv, D, scale, 1, window, 0);
    }
  }
  return out;
}

/** The flat forward of DecoderModel.forward for each row's tokens, all rows' tokens batched through the GEMMs.
 *  Rows run grouped by adapter set; the logits of each row's last token come back in the callers' order. */
function decodeStep(model: DecoderModel, index: Map<Linear, number>, scratch: Scratch, input: readonly DecodeRow[]): Float32Array[] {
  const c = model.config;
  const B = input.length;
  if (B === 0) return [];
  const { order, groups: rowGroups } = groupRows(input);
  const rows = order.map((i) => input[i]);
  const [C, H, Hkv, D, eps] = [c.hiddenSize, c.numHeads, c.numKvHeads, c.headDim, c.rmsNormEps];
  const K = kernels();
  const lay = layout(rows, rowPositions(model, rows));
  const M = lay.M;
  // adapter groups in token units: a group's rows are consecutive, so are their tokens
  const groups = rowGroups.map((g) => ({ ...g, start: lay.start[g.start], end: g.end < B ? lay.start[g.end] : M }));
  /** the linears' outputs for the same input x, their base products in one call */
  const lins = (ls: readonly Linear[], x: Float32Array): Float32Array[] =>
    rowsLinears(ls, ls.map((l) => index.get(l) ?? -1), x, M, groups, scratch);
  const lin = (l: Linear, x: Float32Array): Float32Array => lins([l], x)[0];
  const norm = (x: Float32Array, w: Tensor, n: number, width: number, role: string): Float32Array => {
    const out = scratch.take(role, n * width);
    K.rmsnorm(out, scratch.take('rstd', n), x, w.data, n, width, eps); // one row at a time, each reduced alone
    return out;
  };

  const ids = ints('ids', M);
  rows.forEach((r, b) => ids.set(r.ids, lay.start[b]));
  // the residual stream alternates between two step buffers: each add writes the other one
  let inA = true;
  let x = scratch.take('residualA', M * C);
  embeddingRows(x, model.weights.embed, ids); // [M, C]
  if (c.embeddingMultiplier !== 1) K.scale(x, x, c.embeddingMultiplier, M * C);
  /** x + mult * y into the other residual buffer, and its rmsnorm (each token reduced alone). */
  const addNorm = (y: Float32Array, w: Tensor, role: string): Float32Array => {
    const sum = scratch.take(inA ? 'residualB' : 'residualA', M * C);
    const out = scratch.take(role, M * C);
    K.addRmsnormRows(sum, out, scratch.take('rstd', M), x, y, c.residualMultiplier, w.data, M, C, eps);
    [x, inA] = [sum, !inA];
    return out;
  };
  const layers = model.weights.layers;
  let h = norm(x, layers.length ? layers[0].inputNorm : model.weights.norm, M, C, 'h');
  for (const [li, layer] of layers.entries()) {
    const qkv = lins([layer.q, layer.k, layer.v], h);
    let q = qkv[0]; // [M, H*D]
    let k = qkv[1]; // [M, Hkv*D]
    const v = qkv[2];
    if (layer.qNorm) q = norm(q, layer.qNorm, M * H, D, 'qNorm');
    if (layer.kNorm) k = norm(k, layer.kNorm, M * Hkv, D, 'kNorm');
    const o = lin(layer.o, rowsAttention(model, li, rows, lay, q, k, v, scratch));
    const post = addNorm(o, layer.postNorm, 'post');
    const [gate, up] = lins([layer.gate, layer.up], post);
    const F = gate.length / M;
    const act = scratch.take('act', M * F);
    K.swigluRows(act, gate, up, M, F);
    const next = layers[li + 1];
    h = addNorm(lin(layer.down, act), next ? next.inputNorm : model.weights.norm, 'h');
  }
  for (const r of rows) r.cache.advance(r.ids.length);
  // the LM head reads the last token of each row only
  const last = B === M ? h : scratch.take('last', B * C);
  if (B !== M) rows.forEach((r, b) => last.set(h.subarray((lay.start[b] + r.ids.length - 1) * C, (lay.start[b] + r.ids.length) * C), b * C));
  if (c.logitsScaling !== 1) K.scale(last, last, 1 / c.logitsScaling, B * C);
  const head = model.weights.lmHead;
  const V = head.shape[0];
  const logits = scratch.take('logits', B * V); // written whole; the callers read it before the next step
  weightRows(logits, last, head, B, V, C);
  const out = new Array<Float32Array>(B);
  order.forEach((i, b) => {
    out[i] = logits.subarray(b * V, (b + 1) * V);
  });
  return out;
}
