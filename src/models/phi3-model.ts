// The Phi-3 causal LM: RMSNorm blocks around attention over the fused qkv_proj (partial rotary, sliding window)
// and the SwiGLU MLP over the fused gate_up_proj. LongRoPE picks its factors per forward from the largest
// position; when cached decoding first crosses original_max_position_embeddings, the cache is dropped and every
// position recomputed on the long factors, as transformers' Phi3ForCausalLM.prepare_inputs_for_generation does.
// Legend: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim, R rotary dims, F ffn, V vocab.
// Reference: transformers' modeling_phi3.py (eager attention, float32).
import { Tensor, add, attention, embedding, rmsnorm, ropePartial, swiglu, view } from '../tensor/index.js';
import { highestPosition, inputPositions } from './decoder.js';
import { splitLast } from './fused.js';
import type { KVCache } from './kv-cache.js';
import { applyLinear } from './linear.js';
import { Phi3RopeTables } from './longrope.js';
import type { LoadedRecord, LoadedTable } from './params.js';
import type { Phi3Config, Phi3LayerSpec, Phi3Table } from './phi3.js';
import { TableModel, lmHeadOutput } from './table-model.js';
import type { ForwardInput, ForwardOutput } from './types.js';

type Phi3Layer = LoadedRecord<Phi3LayerSpec>;

/** What one layer's attention needs besides its weights. */
interface AttendContext {
  B: number;
  T: number;
  cos: Float32Array;
  sin: Float32Array;
  pos: Int32Array;
  segments: Int32Array | null;
  cache: KVCache | null;
}

export class Phi3Model extends TableModel<Phi3Table> {
  declare readonly config: Phi3Config;
  private readonly ropes: Phi3RopeTables;
  /** token ids each row of a cache has seen, so a LongRoPE switch can recompute them */
  private readonly seen = new WeakMap<KVCache, number[][]>();

  constructor(config: Phi3Config, table: Phi3Table, loaded: LoadedTable<Phi3Table>) {
    super(config, table, loaded);
    this.ropes = new Phi3RopeTables(config.phi3.rope);
  }

  forward(input: ForwardInput): ForwardOutput {
    const cache = input.cache ?? null;
    if (!cache) return this.run(input);
    const before = this.history(cache, input.batch);
    const lr = this.config.phi3.rope.longrope;
    const T = input.seqLen;
    // transformers' generate drops the cache when the sequence first grows past original_max_position_embeddings
    const crossing = lr !== null && before !== null && !input.positions && !input.targets && cache.length > 0 &&
      cache.length <= lr.originalMaxPositions && cache.length + T > lr.originalMaxPositions;
    if (crossing && before) return this.recompute(input, cache, before);
    const out = this.run(input);
    if (before) before.forEach((row, b) => row.push(...input.ids.subarray(b * T, (b + 1) * T)));
    return out;
  }

  /** The ids each row of `cache` holds, trimmed to its length; null when they are unknown (filled elsewhere). */
  private history(cache: KVCache, B: number): number[][] | null {
    let rows = this.seen.get(cache);
    if (!rows && cache.length === 0) this.seen.set(cache, (rows = Array.from({ length: B }, () => [])));
    if (!rows || rows.length !== B || rows[0].length < cache.length) {
      this.seen.delete(cache);
      return null;
    }
    for (const r of rows) r.length = cache.length;
    return rows;
  }

  /** Runs the whole sequence (cached ids + the new ones) from an empty cache; returns the new positions' logits. */
  private recompute(input: ForwardInput, cache: KVCache, rows: number[][]): ForwardOutput {
    const { batch: B, seqLen: T } = input;
    const L = cache.length;
    const ids = new Int32Array(B * (L + T));
    rows.forEach((r, b) => {
      ids.set(r, b * (L + T));
      ids.set(input.ids.subarray(b * T, (b + 1) * T), b * (L + T) + L);
      r.push(...input.ids.subarray(b * T, (b + 1) * T));
    });
    cache.truncate(0);
    const mode = input.logits ?? 'all';
    const out = this.run({ ...input, ids, seqLen: L + T, logits: mode });
    if (mode !== 'all' || !out.logits) return out;
    const V = this.config.vocabSize;
    const all = out.logits.data;
    const tail = Tensor.zeros([B, T, V]);
    for (let b = 0; b < B; b++) tail.data.set(all.subarray((b * (L + T) + L) * V, (b + 1) * (L + T) * V), b * T * V);
    return { logits: tail, loss: out.loss };
  }

  private run(input: ForwardInput): ForwardOutput {
    const c = this.config;
    const { batch: B, seqLen: T, ids } = input;
    const pos = inputPositions(input, c.maxPositions);
    const tables = this.ropes.forForward(highestPosition(pos));
    const cache = input.cache ?? null;
    const a: AttendContext = { B, T, cos: tables.cos, sin: tables.sin, pos, segments: input.segments ?? null, cache };
    const g = this.loaded.global;
    let x = embedding(g.embed, ids, [B, T]); // [B, T, C]
    for (const [li, layer] of this.loaded.layers.entries()) {
      x = add(x, this.attend(layer, li, rmsnorm(x, layer.inputNorm, c.rmsNormEps), a));
      x = add(x, this.mlp(layer, rmsnorm(x, layer.postNorm, c.rmsNormEps)));
    }
    if (cache) cache.advance(T);
    return lmHeadOutput(rmsnorm(x, g.norm, c.rmsNormEps), g.lmHead ?? g.embed, input);
  }

  /** Self-attention of layer li on normed input h [B, T, C] -> o_proj output [B, T, C]. */
  private attend(layer: Phi3Layer, li: number, h: Tensor, a: AttendContext): Tensor {
    const c = this.config;
    const { B, T } = a;
    const [H, Hkv, D, R] = [c.numHeads, c.numKvHeads, c.headDim, c.phi3.rope.rotaryDim];
    const [qf, kf, vf] = splitLast(applyLinear(layer.qkv, h), [H * D, Hkv * D, Hkv * D]);
    const q = ropePartial(view(qf, [B, T, H, D]), a.cos, a.sin, a.pos, R);
    let k = ropePartial(view(kf, [B, T, Hkv, D]), a.cos, a.sin, a.pos, R);
    let v = view(vf, [B, T, Hkv, D]);
    if (a.cache) [k, v] = a.cache.append(li, k, v, T);
    const window = c.layerTypes[li] === 'sliding' && c.slidingWindow ? c.slidingWindow : 0;
    const out = attention(q, k, v, { window, segments: a.segments });
    return applyLinear(layer.o, view(out, [B, T, H * D]));
  }

  /** down(up * silu(gate)) with [gate | up] = gate_up_proj(h). [B, T, C] -> [B, T, C] */
  private mlp(layer: Phi3Layer, h: Tensor): Tensor {
    const F = this.config.intermediateSize;
    const [gate, up] = splitLast(applyLinear(layer.gateUp, h), [F, F]);
    return applyLinear(layer.down, swiglu(gate, up));
  }
}
