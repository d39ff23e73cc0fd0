// Sentence embeddings from an encoder folder, as sentence-transformers computes them: the query or passage prompt
// prepended, tokenized and truncated to max_seq_length, encoded in length-sorted batches on the native kernels,
// pooled by the folder's modes (concatenated in sentence-transformers' order) and L2-normalised when it says so.
// Legend: B batch, T tokens, C hidden.
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { noGrad } from '../tensor/index.js';
import { loadEncoder } from './encoder-load.js';
import { loadEncoderTokenizer, textEncoder, type TextEncoder } from './encoder-text.js';
import type { EncoderModel } from './encoder-types.js';
import { readSentenceConfig, type PoolingMode, type Prompts, type SentenceConfig } from './sentence-config.js';

/** Which prompt a text gets: the model's query or passage prompt, or none. */
export type TextKind = 'query' | 'passage' | 'none';

export interface EmbedderOptions {
  /** override the model's prompts (e.g. { query: 'query: ', passage: 'passage: ' } or '' for none) */
  queryPrefix?: string;
  passagePrefix?: string;
  /** override the Normalize module */
  normalize?: boolean;
  /** cap on tokens per text (default max_seq_length, else the model's limit) */
  maxLength?: number;
  /** padded tokens per forward batch (default 8192) */
  batchTokens?: number;
}

export interface EmbedResult {
  vectors: Float32Array[];
  /** real tokens encoded (usage) */
  tokens: number;
}

/** Pools the rows of hidden states h [B, T, C] with mask [B, T] by one mode into out (C values per row). */
function poolRow(h: Float32Array, mask: Int32Array, b: number, T: number, C: number, mode: PoolingMode, out: Float32Array, at: number): void {
  const row = (t: number) => (b * T + t) * C;
  let n = 0;
  let last = 0;
  for (let t = 0; t < T; t++) if (mask[b * T + t]) { n++; last = t; }
  if (mode === 'cls' || mode === 'lasttoken') {
    out.set(h.subarray(row(mode === 'cls' ? 0 : last), row(mode === 'cls' ? 0 : last) + C), at);
    return;
  }
  if (mode === 'max') {
    for (let c = 0; c < C; c++) {
      let m = -1e9; // sentence-transformers sets padded positions to -1e9 before the max
      for (let t = 0; t < T; t++) m = Math.max(m, mask[b * T + t] ? h[row(t) + c] : -1e9);
      out[at + c] = m;
    }
    return;
  }
  let wsum = 0;
  const acc = new Float64Array(C);
  for (let t = 0; t < T; t++) {
    const w = mask[b * T + t] * (mode === 'weightedmean' ? t + 1 : 1);
    if (w === 0) continue;
    wsum += w;
    for (let c = 0; c < C; c++) acc[c] += w * h[row(t) + c];
  }
  const div = mode === 'mean_sqrt_len' ? Math.sqrt(Math.max(n, 1e-9)) : Math.max(wsum, 1e-9);
  for (let c = 0; c < C; c++) out[at + c] = acc[c] / div;
}

/** Pooled vectors of every row of h [B, T, C]: the modes concatenated, then L2-normalised when asked. */
export function poolHidden(h: Float32Array, mask: Int32Array, B: number, T: number, C: number, modes: readonly PoolingMode[], normalize: boolean): Float32Array[] {
  return Array.from({ length: B }, (_, b) => {
    const v = new Float32Array(C * modes.length);
    modes.forEach((mode, m) => poolRow(h, mask, b, T, C, mode, v, m * C));
    return normalize ? l2normalize(v) : v;
  });
}

function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.max(Math.sqrt(s), 1e-12); // torch.nn.functional.normalize's eps
  return v.map((x) => x / n);
}

export class SentenceEmbedder {
  readonly dir: string;
  /** the folder's name, as served in /v1/models */
  readonly name: string;
  readonly model: EncoderModel;
  readonly text: TextEncoder;
  readonly config: SentenceConfig;
  readonly prompts: Prompts;
  readonly normalize: boolean;
  /** length of one embedding */
  readonly dims: number;
  private readonly batchTokens: number;

  constructor(dir: string, o: EmbedderOptions = {}) {
    this.dir = dir;
    this.name = path.basename(path.resolve(dir));
    this.config = readSentenceConfig(dir);
    const { model } = loadEncoder(dir);
    this.model = model;
    this.text = textEncoder(loadEncoderTokenizer(dir), model.config, o.maxLength ?? this.config.maxLength ?? undefined);
    this.prompts = { query: o.queryPrefix ?? this.config.prompts.query, passage: o.passagePrefix ?? this.config.prompts.passage };
    this.normalize = o.normalize ?? this.config.normalize;
    this.dims = model.config.hiddenSize * this.config.pooling.length;
    this.batchTokens = o.batchTokens ?? 8192;
    if (!(this.batchTokens >= 1)) throw new ShitateError('E_CONFIG', `embed: batch tokens must be >= 1, found ${o.batchTokens}`, 'e.g. 8192');
  }

  /** the text as the model sees it: with its prompt */
  prompted(text: string, kind: TextKind): string {
    return kind === 'none' ? text : `${kind === 'query' ? this.prompts.query : this.prompts.passage}${text}`;
  }

  /** Token ids per text (prompt, truncation and special tokens included). */
  tokenize(texts: readonly string[], kind: TextKind): number[][] {
    return texts.map((t) => this.text.ids(this.prompted(t, kind)));
  }

  /** One vector per text, in input order. */
  embed(texts: readonly string[], kind: TextKind = 'none'): EmbedResult {
    const rows = this.tokenize(texts, kind);
    return { vectors: this.embedIds(rows), tokens: rows.reduce((n, r) => n + r.length, 0) };
  }

  /** One vector per row of token ids (special tokens included), in input order; batched by length. */
  embedIds(rows: readonly number[][]): Float32Array[] {
    const order = rows.map((_, i) => i).sort((a, b) => rows[b].length - rows[a].length);
    const vectors = new Array<Float32Array>(rows.length);
    let i = 0;
    while (i < order.length) {
      const T = rows[order[i]].length; // longest of the batch: rows are sorted by length
      const B = Math.max(1, Math.min(order.length - i, Math.floor(this.batchTokens / Math.max(T, 1))));
      const ids = order.slice(i, i + B);
      const out = this.embedRows(ids.map((k) => rows[k]));
      ids.forEach((k, j) => (vectors[k] = out[j]));
      i += B;
    }
    return vectors;
  }

  private embedRows(rows: readonly number[][]): Float32Array[] {
    const input = this.text.batch(rows);
    const h = noGrad(() => this.model.encode(input)).data;
    return poolHidden(h, input.mask, input.batch, input.seqLen, this.model.config.hiddenSize, this.config.pooling, this.normalize);
  }
}
