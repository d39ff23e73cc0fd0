// The kernel contract: every compute kernel shitate uses, implemented twice (native C++ and TS reference).
// Style (llm.c): outputs first, then inputs, then dimensions. Backward kernels take d-prefixed buffers and
// ACCUMULATE (+=) into them. Legend: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim,
// N rows (= B*T), V vocab. All tensors are contiguous row-major. Buffers may be subarray views.

import type { LowpKernels } from './lowp-types.js';

/** Float buffer accepted by kernels. Native kernels take Float32Array only; TS reference kernels also take
 *  Float64Array so gradient checks can run in double precision. */
export type F32 = Float32Array;

export interface Kernels extends LowpKernels {
  readonly name: 'native' | 'reference';

  // ---- GEMM --------------------------------------------------------------------------------------
  /** c[b] = op(a[b]) @ op(b[b]) + beta * c[b] for b < batch.
   *  op(a) is [M, K] (stored [K, M] when transA); op(b) is [K, N] (stored [N, K] when transB); c is [M, N].
   *  strideA / strideB are element strides between batch items (0 broadcasts one matrix over the batch);
   *  c is always densely batched (stride M*N). beta is 0 (overwrite) or 1 (accumulate). */
  gemm(c: F32, a: F32, b: F32, batch: number, M: number, N: number, K: number,
    transA: boolean, transB: boolean, beta: number, strideA: number, strideB: number): void;

  /** c[M, N] = a[M, K] @ w[N, K]^T, or c += that when accumulate. Each element is summed in one fixed order that
   *  does not depend on M or the thread count, so a row's output is the same alone or among others (batched decode
   *  matches single-row decode bit for bit). Each weight row is read once for all M rows. */
  gemmRows(c: F32, a: F32, w: F32, M: number, N: number, K: number, accumulate: boolean): void;
  /** Batched decode against int8 weights with one float32 scale per weight row (--weights int8): each element
   *  summed in one fixed order that depends on neither M nor the thread count (the int8 decode-row order of the
   *  path the CPU takes: on AVX2 two 8-lane accumulators, a fixed lane tree, then the tail; on AVX-512 two 16-lane
   *  accumulators, the tail masked, the lanes reduced), times its row's scale. */
  gemmRowsI8(c: F32, a: F32, q: Int8Array, scale: F32, M: number, N: number, K: number, accumulate: boolean): void;
  /** Batched decode against bf16 weights (--weights bf16): c[M, N] = r(a)[M, K] @ w16[N, K]^T (c += that when
   *  accumulate), a rounded to bf16 (nearest even), each element summed in one fixed order that depends on neither M
   *  nor the thread count (the bf16 decode-row order: 8 lanes over blocks of 16, each lane adding its even- and
   *  odd-indexed products first, a fixed lane tree, then the tail). */
  gemmRowsBf16(c: F32, a: F32, w: Uint16Array, M: number, N: number, K: number, accumulate: boolean): void;
  /** gemmRows for S weight matrices that read the same rows a[M, K] (a layer's q, k and v projections; gate and
   *  up): cs[s] [M, Ns[s]] gets what gemmRows(cs[s], a, ws[s], M, Ns[s], K, accumulate) gives, bit for bit, in one
   *  call (the rows prepared once, all weight rows shared out over the threads together). */
  gemmRowsMany(cs: readonly F32[], a: F32, ws: readonly F32[], Ns: Int32Array, S: number, M: number, K: number, accumulate: boolean): void;
  /** gemmRowsBf16 for S bf16 weight matrices that read the same rows, as gemmRowsMany: bit for bit separate calls. */
  gemmRowsBf16Many(cs: readonly F32[], a: F32, ws: readonly Uint16Array[], Ns: Int32Array, S: number, M: number, K: number,
    accumulate: boolean): void;
  /** gemmRowsI8 for S int8 weight matrices (qs[s] [Ns[s], K], scales[s] [Ns[s]]) that read the same rows, as
   *  gemmRowsMany: bit for bit separate calls. */
  gemmRowsI8Many(cs: readonly F32[], a: F32, qs: readonly Int8Array[], scales: readonly F32[], Ns: Int32Array, S: number, M: number,
    K: number, accumulate: boolean): void;
  /** The LoRA deltas of a batched decode step in one call: for each group g, rows [starts[g], ends[g]) of y [M, O]
   *  get (scales[g] * (x A_g^T)) B_g^T added, A_g = as[g] [ranks[g], I], B_g = bs[g] [O, ranks[g]], x [M, I];
   *  computed as gemmRows, scale and an accumulating gemmRows would for those rows (the same bits), so a row's
   *  delta does not depend on the rows or groups beside it. */
  loraRows(y: F32, x: F32, as: readonly F32[], bs: readonly F32[], scales: F32, starts: Int32Array, ends: Int32Array,
    ranks: Int32Array, G: number, M: number, I: number, O: number): void;

  /** Mixed-precision GEMM against a frozen bf16 weight: c = op(a) @ op(b) + beta * c (batch 1), where b holds
   *  bfloat16 bit patterns and a is rounded to bfloat16 (nearest even) first; products are exact in float32 and
   *  sums accumulate in float32 (PyTorch's bf16 autocast matmul). Native: oneDNN's bf16 GEMM when the addon was
   *  built with it (about 2x sgemm on AVX512-BF16/AMX cores), else emulated on sgemm. */
  gemmBf16(c: F32, a: F32, b: Uint16Array, M: number, N: number, K: number,
    transA: boolean, transB: boolean, beta: number): void;

  /** Inference against int8 weights with one float32 scale per output row: c[M, N] = a[M, K] @ (scale[n] *
   *  q[N, K])^T + beta * c (beta 0 or 1). Native: decode rows (M <= 8) read each weight row once, one byte per
   *  weight; more rows widen blocks of weights to float32 for sgemm. */
  gemmI8(c: F32, a: F32, q: Int8Array, scale: F32, M: number, N: number, K: number, beta: number): void;
  /** Symmetric per-row int8 quantization of w [rows, cols]: scale[r] = max |w[r, :]| / 127 (0 for a zero row), q =
   *  w / scale rounded half away from zero (both divisions in double, the scale rounded to float32 once). */
  quantizeRowsI8(q: Int8Array, scale: F32, w: F32, rows: number, cols: number): void;

  // ---- elementwise (n = element count) -----------------------------------------------------------
  /** out = a + b, where b has n elements or cols elements (broadcast over rows of width cols). */
  add(out: F32, a: F32, b: F32, n: number, cols: number): void;
  /** out = a * b, broadcasting b the same way as add. */
  mul(out: F32, a: F32, b: F32, n: number, cols: number): void;
  /** out = a * s */
  scale(out: F32, a: F32, s: number, n: number): void;
  /** arrays[t] *= s in place for the first S arrays (array t of sizes[t] elements): scale on each, in one call. */
  scaleMany(arrays: readonly F32[], sizes: Int32Array, S: number, s: number): void;
  /** dst += alpha * src */
  axpy(dst: F32, src: F32, alpha: number, n: number): void;
  /** out[c] += sum over rows r of a[r, c]; a is [rows, cols] (gradient of a row-broadcast). */
  sumRows(out: F32, a: F32, rows: number, cols: number): void;
  /** sum of squares of a[0..n), accumulated in double precision (global gradient norm). */
  sumSquares(a: F32, n: number): number;
  /** sumSquares of each of the first S arrays (array s of sizes[s] elements), added in order: the same number as a
   *  loop over sumSquares, the arrays shared over the threads. */
  sumSquaresMany(arrays: readonly F32[], sizes: Int32Array, S: number): number;

  // ---- activations -------------------------------------------------------------------------------
  silu(out: F32, x: F32, n: number): void;
  siluBackward(dx: F32, dout: F32, x: F32, n: number): void;
  /** out = silu(gate) * up (Llama MLP) */
  swiglu(out: F32, gate: F32, up: F32, n: number): void;
  swigluBackward(dgate: F32, dup: F32, dout: F32, gate: F32, up: F32, n: number): void;
  /** approximate: 0 = exact erf GELU, 1 = tanh approximation ("gelu_new"/"gelu_pytorch_tanh"). */
  gelu(out: F32, x: F32, n: number, approximate: number): void;
  geluBackward(dx: F32, dout: F32, x: F32, n: number, approximate: number): void;
  /** out = gelu(gate) * up (Gemma's GeGLU MLP); approximate as for gelu. */
  geglu(out: F32, gate: F32, up: F32, n: number, approximate: number): void;
  gegluBackward(dgate: F32, dup: F32, dout: F32, gate: F32, up: F32, n: number, approximate: number): void;
  /** out = cap * tanh(x / cap) (Gemma's logit soft-capping); out may alias x. */
  softcap(out: F32, x: F32, n: number, cap: number): void;
  /** dx += dout * (1 - (y / cap)^2), y = the forward output. */
  softcapBackward(dx: F32, dout: F32, y: F32, n: number, cap: number): void;
  /** row softmax over [N, C] */
  softmax(out: F32, x: F32, N: number, C: number): void;
  softmaxBackward(dx: F32, dout: F32, y: F32, N: number, C: number): void;

  // ---- normalisation -----------------------------------------------------------------------------
  /** out = x / sqrt(mean(x^2) + eps) * w, rows of width C; rstd [N] is saved for backward. */
  rmsnorm(out: F32, rstd: F32, x: F32, w: F32, N: number, C: number, eps: number): void;
  /** dw may be null when the weight is frozen. */
  rmsnormBackward(dx: F32, dw: F32 | null, dout: F32, x: F32, w: F32, rstd: F32, N: number, C: number): void;
  /** out = (x - mean) * rstd * w + b; b may be null; mean and rstd [N] are saved. */
  layernorm(out: F32, mean: F32, rstd: F32, x: F32, w: F32, b: F32 | null, N: number, C: number, eps: number): void;
  layernormBackward(dx: F32, dw: F32 | null, db: F32 | null, dout: F32, x: F32, w: F32,
    mean: F32, rstd: F32, N: number, C: number): void;

  // ---- embeddings and positions ------------------------------------------------------------------
  /** out[n] = table[ids[n]]; table [V, C]; ids must be in range (checked by the caller). */
  embedding(out: F32, table: F32, ids: Int32Array, N: number, C: number): void;
  /** dtable[ids[n]] += dout[n] (scatter-add) */
  embeddingBackward(dtable: F32, dout: F32, ids: Int32Array, N: number, C: number): void;
  /** Rotary embedding, rotate-half convention (HF Llama). x and out are [N, H, D] where row n has absolute
   *  position pos[n]; cos/sin are [P, D/2] tables indexed by position. For i < D/2:
   *  out[i] = x[i]*cos - x[i+D/2]*sin; out[i+D/2] = x[i+D/2]*cos + x[i]*sin. out may alias x. */
  rope(out: F32, x: F32, cos: F32, sin: F32, pos: Int32Array, N: number, H: number, D: number): void;
  /** dx (+)= rotation of dout by -theta (the transpose of rope): added when accumulate, else written. */
  ropeBackward(dx: F32, dout: F32, cos: F32, sin: F32, pos: Int32Array, N: number, H: number, D: number, accumulate: boolean): void;
  /** Partial rotary embedding (Phi-3 partial_rotary_factor): rope's rotate-half over the first R (even, <= D) dims
   *  of each head with cos/sin [P, R/2]; dims R..D-1 are copied unchanged. out may alias x. */
  ropePartial(out: F32, x: F32, cos: F32, sin: F32, pos: Int32Array, N: number, H: number, D: number, R: number): void;
  /** dx += the transposed rotation of dout on the first R dims, dx += dout on the rest. */
  ropePartialBackward(dx: F32, dout: F32, cos: F32, sin: F32, pos: Int32Array, N: number, H: number, D: number,
    R: number): void;

  // ---- attention ---------------------------------------------------------------------------------
  /** Scaled dot-product attention, grouped-query (head h reads kv head floor(h / (H / Hkv))).
   *  q, out: [B, Tq, H, D]; k, v: [B, Tk, Hkv, D]; lse: [B, H, Tq] (log-sum-exp of scaled scores, saved).
   *  Query t sits at absolute position (Tk - Tq + t). Key j is visible when causal === 1 implies j <= that
   *  position, window > 0 implies position - j < window, and when seg is given, seg[b*Tk + j] equals the
   *  query's segment seg[b*Tk + Tk - Tq + t] (packing without cross-example attention).
   *  alibi [H] (or null) adds slope[h] * (j - position) to each score. softcap > 0 replaces each scaled score x
   *  by softcap * tanh(x / softcap) before masks and ALiBi (Gemma 2); 0 leaves scores as they are. A query
   *  that sees no key outputs 0. */
  attention(out: F32, lse: F32, q: F32, k: F32, v: F32, alibi: F32 | null, seg: Int32Array | null,
    B: number, Tq: number, Tk: number, H: number, Hkv: number, D: number,
    scale: number, causal: number, window: number, softcap: number): void;
  /** attention() (forward) over k and v held as bf16 bits (a KV cache held in bf16): the bits attention() gives over
   *  them widened to float32 (exact), each block of keys widened as it is read. */
  attentionKvBf16(out: F32, lse: F32, q: F32, k: Uint16Array, v: Uint16Array, alibi: F32 | null, seg: Int32Array | null,
    B: number, Tq: number, Tk: number, H: number, Hkv: number, D: number,
    scale: number, causal: number, window: number, softcap: number): void;
  /** The batched decode step's per-token ops over M tokens at once, split by tokens over the decode rows' threads;
   *  each token computed as the single-token call computes it. swigluRows: out = silu(gate) * up over [M, F]. */
  swigluRows(out: F32, gate: F32, up: F32, M: number, F: number): void;
  /** addRmsnorm with float32 y and out over N rows of C. */
  addRmsnormRows(sum: F32, out: F32, rstd: F32, x: F32, y: F32, mult: number, w: F32, N: number, C: number, eps: number): void;
  /** rope over N tokens (out may be x). */
  ropeRows(out: F32, x: F32, cos: F32, sin: F32, pos: Int32Array, N: number, H: number, D: number): void;
  /** The queries of each batch row against that row's own cache (the batched decode step), one at a time: row b has
   *  tq[b] queries, packed in q and out ([sum tq, H, D]), at positions lens[b] - tq[b] ... lens[b] - 1; ks[b], vs[b]
   *  hold at least lens[b] positions of [Hkv, D] (causal, window and softcap as in attention(); no ALiBi or
   *  segments). Each query equals attention()'s per-query result for that row alone (Tq < 16 there), whatever rows
   *  are beside it. */
  attentionDecodeRows(out: F32, q: F32, ks: readonly F32[], vs: readonly F32[], lens: Int32Array, tq: Int32Array,
    B: number, H: number, Hkv: number, D: number, scale: number, window: number, softcap: number): void;
  /** attentionDecodeRows over caches held in bf16 (ks[b], vs[b] bf16 bits): exactly its result over the caches
   *  widened to float32 (a bf16 value widens exactly), with half the bytes read. */
  attentionDecodeRowsBf16(out: F32, q: F32, ks: readonly Uint16Array[], vs: readonly Uint16Array[], lens: Int32Array, tq: Int32Array,
    B: number, H: number, Hkv: number, D: number, scale: number, window: number, softcap: number): void;
  /** Accumulates into dq, dk, dv; recomputes probabilities from q, k and the saved lse. */
  attentionBackward(dq: F32, dk: F32, dv: F32, dout: F32, q: F32, k: F32, v: F32, out: F32, lse: F32,
    alibi: F32 | null, seg: Int32Array | null,
    B: number, Tq: number, Tk: number, H: number, Hkv: number, D: number,
    scale: number, causal: number, window: number, softcap: number): void;
  /** Bidirectional attention of an encoder (BERT, RoBERTa, ModernBERT), one kv head per query head.
   *  q, k, v, out: [B, T, H, D]; lse: [B, H, T]. Key j is visible to query i when keyMask[b*T + j] !== 0 (keyMask
   *  [B, T] marks real tokens; null = all real) and, when window >= 0, |i - j| <= window (ModernBERT's local layers:
   *  local_attention / 2). A query that sees no key outputs the mean of v over all T keys with lse = -inf, as the
   *  additive dtype-minimum mask of transformers makes it. */
  encoderAttention(out: F32, lse: F32, q: F32, k: F32, v: F32, keyMask: Int32Array | null,
    B: number, T: number, H: number, D: number, scale: number, window: number): void;
  /** Accumulates into dq, dk, dv; recomputes probabilities from q, k and the saved lse. */
  encoderAttentionBackward(dq: F32, dk: F32, dv: F32, dout: F32, q: F32, k: F32, v: F32, out: F32, lse: F32,
    keyMask: Int32Array | null, B: number, T: number, H: number, D: number, scale: number, window: number): void;

  // ---- loss --------------------------------------------------------------------------------------
  /** Per-row cross-entropy over logits [N, V]. losses[n] = logsumexp(logits[n]) - logits[n, targets[n]],
   *  or 0 where targets[n] === -100 (ignored). When dlogits is not null it receives
   *  (softmax(logits[n]) - onehot(targets[n])) * gradScale (a zero row where ignored); dlogits may alias
   *  logits. Targets outside [0, V) other than -100 are a caller error. */
  crossEntropy(losses: F32, dlogits: F32 | null, logits: F32, targets: Int32Array, N: number, V: number,
    gradScale: number): void;
  /** crossEntropy of the soft-capped logits c = cap * tanh(logits / cap); dlogits (may alias logits) is the
   *  gradient with respect to the raw logits: (softmax(c) - onehot) * gradScale * (1 - (c / cap)^2). */
  softcapCrossEntropy(losses: F32, dlogits: F32 | null, logits: F32, targets: Int32Array, N: number, V: number,
    gradScale: number, cap: number): void;

  // ---- hybrid families: short convolutions and the gated delta rule -------------------------------
  /** Causal depthwise conv1d over tokens (channels last): x, out [B, T, Ch], w [Ch, K], bias [Ch] or null;
   *  out[b,t,c] = act(bias[c] + sum_j w[c,j] x[b, t-(K-1)+j, c]), act 0 = identity, 1 = SiLU. Inputs before a
   *  token's segment start (seg [B*T], or the row start) are 0, or, with a state [B, K-1, Ch] and no seg, the
   *  history the state holds; the state is then left holding the last K-1 inputs (a decode step is T = 1). */
  causalConv1d(out: F32, x: F32, w: F32, bias: F32 | null, state: F32 | null, seg: Int32Array | null,
    B: number, T: number, Ch: number, K: number, act: number): void;
  /** Accumulates into dx, dw and dbias (dw / dbias may be null); no history (training starts at position 0). */
  causalConv1dBackward(dx: F32, dw: F32 | null, dbias: F32 | null, dout: F32, x: F32, w: F32, bias: F32 | null,
    seg: Int32Array | null, B: number, T: number, Ch: number, K: number, act: number): void;
  /** out = x / sqrt(sum(x^2) + eps) over rows of width D; rnorm [N] saved for backward. */
  l2norm(out: F32, rnorm: F32, x: F32, N: number, D: number, eps: number): void;
  l2normBackward(dx: F32, dout: F32, x: F32, rnorm: F32, N: number, D: number): void;
  /** Gated delta rule, chunked (64 tokens, UT/WY form). q, k [B, T, Hk, Dk] (L2-normalised), v, out
   *  [B, T, Hv, Dv], g (log decay <= 0), beta [B, T, Hv]; value head h reads q/k head floor(h / (Hv / Hk)); q is
   *  multiplied by scale. Equal to the recurrent form: S = exp(g) S; S += k (beta (v - S^T k))^T; out = S^T q.
   *  state [B, Hv, Dk, Dv] or null (zeros) is the state before position 0 and is left as the state after the last
   *  one; each new segment of seg starts from zeros. chunkStates [B, Hv, NC, Dk, Dv] or null receives the state at
   *  the start of every chunk (chunks: each segment cut every 64 tokens; NC the most any row has). */
  deltaRuleChunk(out: F32, chunkStates: F32 | null, state: F32 | null, q: F32, k: F32, v: F32, g: F32, beta: F32,
    seg: Int32Array | null, B: number, T: number, Hk: number, Hv: number, Dk: number, Dv: number, scale: number): void;
  /** Accumulates the gradients of deltaRuleChunk (started from zeros) from dout and its saved chunkStates. */
  deltaRuleChunkBackward(dq: F32, dk: F32, dv: F32, dg: F32, dbeta: F32, dout: F32, chunkStates: F32, q: F32, k: F32,
    v: F32, g: F32, beta: F32, seg: Int32Array | null, B: number, T: number, Hk: number, Hv: number, Dk: number,
    Dv: number, scale: number): void;
  /** The recurrent form token by token over T tokens from state [B, Hv, Dk, Dv] (updated in place): decoding. */
  deltaRuleRecurrent(out: F32, state: F32, q: F32, k: F32, v: F32, g: F32, beta: F32, B: number, T: number,
    Hk: number, Hv: number, Dk: number, Dv: number, scale: number): void;

  // ---- regularisation ----------------------------------------------------------------------------
  /** Inverted dropout with a counter-based RNG: element i is kept iff uniform(seed, i) >= p, where
   *  uniform(seed, i) = (hash32(seed, i) >>> 8) / 2^24 and hash32 is defined in kernels/rng.ts.
   *  Kept elements are scaled by 1 / (1 - p). Backward recomputes the mask from the seed. */
  dropout(out: F32, x: F32, n: number, p: number, seed: number): void;
  dropoutBackward(dx: F32, dout: F32, n: number, p: number, seed: number): void;

  // ---- optimiser ---------------------------------------------------------------------------------
  /** One AdamW step, PyTorch's formulation (torch.optim.AdamW, decoupled decay):
   *  p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
   *  p -= (lr / (1 - b1^step)) * m / (sqrt(v) / sqrt(1 - b2^step) + eps). step counts from 1. */
  adamw(param: F32, grad: F32, m: F32, v: F32, n: number, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, step: number): void;
  /** adamw on the first S tensors of the lists (tensor s of sizes[s] elements; weightDecay applies where decays[s]
   *  is not 0) in one call: the same bits as S adamw calls, all the tensors' elements shared over the threads. */
  adamwMany(params: readonly F32[], grads: readonly F32[], ms: readonly F32[], vs: readonly F32[], sizes: Int32Array,
    decays: Int32Array, S: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void;

  // ---- dtype conversion (safetensors) ------------------------------------------------------------
  bf16ToF32(out: F32, src: Uint16Array, n: number): void;
  f16ToF32(out: F32, src: Uint16Array, n: number): void;
  /** round to nearest even; NaN stays NaN */
  f32ToBf16(out: Uint16Array, src: F32, n: number): void;
  f32ToF16(out: Uint16Array, src: F32, n: number): void;

  // ---- memory ------------------------------------------------------------------------------------
  /** How many bytes past a 64-byte (cache-line) boundary the first element of x lies in memory: 0-63 natively,
   *  always 0 in the reference (its loops do not care). lineAligned* in src/tensor/aligned.ts uses it to start
   *  large weight copies on a cache line. */
  lineOffset(x: ArrayBufferView): number;
  /** The sampler's top-k over one row of logits x[0, n): kth[0] = the k-th largest value (duplicates counted; NaN
   *  enters only among the first k), ids = every i with !(x[i] < kth) in id order, at most ids.length of them;
   *  returns how many there are (call again with room for them when more). 1 <= k <= n. */
  topKIds(ids: Int32Array, kth: F32, x: F32, n: number, k: number): number;
  /** The first index of x[0, n)'s largest value, as `if (x[i] > x[best]) best = i` finds it (0 when x[0] is NaN). */
  argmaxF32(x: F32, n: number): number;
}
