// Turns tokenized examples into micro-batches: a token budget per batch, length grouping to cut padding,
// optional packing (several examples per row, attention kept inside each by segment ids, positions
// restarting per example). The plan for an epoch is a pure function of (seed, epoch): resume replays it.
import { Rng } from '../kernels/rng.js';
import { ShitateError } from '../errors.js';

export interface Example {
  ids: Int32Array;
  /** 1 where the token is a training target (predicted from the tokens before it) */
  mask: Uint8Array;
  /** where it came from ("file:line"), for reports */
  source?: string;
}

export interface MicroBatch {
  B: number;
  T: number;
  ids: Int32Array; // [B*T]
  targets: Int32Array; // [B*T], -100 = no loss
  positions: Int32Array | null; // [B*T] when packed
  segments: Int32Array | null; // [B*T] when packed
  targetTokens: number;
  /** example indices in this batch (for reports) */
  examples: number[];
}

export interface BatchOptions {
  /** max tokens per micro-batch (B * T, padding included) */
  batchTokens: number;
  packing: boolean;
  groupByLength: boolean;
  /** row length when packing */
  maxSeqLen: number;
  padId: number;
}

/** Rows: each a list of example indices (one unless packing). */
function rowsOf(lengths: number[], order: number[], o: BatchOptions): number[][] {
  if (!o.packing) return order.map((i) => [i]);
  const rows: number[][] = [];
  let cur: number[] = [];
  let used = 0;
  for (const i of order) {
    if (used + lengths[i] > o.maxSeqLen && cur.length) {
      rows.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(i);
    used += lengths[i];
  }
  if (cur.length) rows.push(cur);
  return rows;
}

/** The micro-batches of one epoch as lists of rows (shuffled when rng is given). */
export function planEpoch(lengths: number[], o: BatchOptions, rng: Rng | null): number[][][] {
  const order = lengths.map((_, i) => i);
  if (rng) rng.shuffle(order);
  const rows = rowsOf(lengths, order, o);
  const rowLen = (r: number[]) => r.reduce((s, i) => s + lengths[i], 0);
  for (const r of rows) {
    if (rowLen(r) > o.batchTokens) {
      throw new ShitateError('E_CONFIG', `an example of ${rowLen(r)} tokens does not fit batch_tokens ${o.batchTokens}`,
        'raise batch_tokens to at least max_seq_len, or lower max_seq_len (long examples are truncated to it)');
    }
  }
  // group by length inside mega-chunks of 64 rows: neighbours have similar lengths, order stays random
  const chunks: number[][][] = [];
  const mega = o.groupByLength ? 64 : 1;
  for (let i = 0; i < rows.length; i += mega) {
    const c = rows.slice(i, i + mega);
    if (o.groupByLength) c.sort((a, b) => rowLen(b) - rowLen(a));
    chunks.push(c);
  }
  const batches: number[][][] = [];
  for (const c of chunks) {
    let cur: number[][] = [];
    let maxLen = 0;
    for (const r of c) {
      const len = Math.max(maxLen, rowLen(r));
      if (cur.length && len * (cur.length + 1) > o.batchTokens) {
        batches.push(cur);
        cur = [];
        maxLen = 0;
      }
      cur.push(r);
      maxLen = Math.max(maxLen, rowLen(r));
    }
    if (cur.length) batches.push(cur);
  }
  if (rng && o.groupByLength) rng.shuffle(batches);
  return batches;
}

/** Materialises one planned batch: right padding; next-token targets; packed positions and segments. */
export function buildBatch(examples: Example[], rows: number[][], o: BatchOptions): MicroBatch {
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.reduce((s, i) => s + examples[i].ids.length, 0)));
  const ids = new Int32Array(B * T).fill(o.padId);
  const targets = new Int32Array(B * T).fill(-100);
  const positions = o.packing ? new Int32Array(B * T) : null;
  const segments = o.packing ? new Int32Array(B * T).fill(-1) : null;
  let targetTokens = 0;
  rows.forEach((row, b) => {
    let t0 = b * T;
    row.forEach((ei, s) => {
      const { ids: x, mask } = examples[ei];
      ids.set(x, t0);
      for (let t = 0; t + 1 < x.length; t++) {
        if (mask[t + 1]) {
          targets[t0 + t] = x[t + 1];
          targetTokens++;
        }
      }
      if (positions && segments) {
        for (let t = 0; t < x.length; t++) {
          positions[t0 + t] = t;
          segments[t0 + t] = s;
        }
      }
      t0 += x.length;
    });
    if (positions && segments) {
      // padding: its own segment, positions continuing (never attended by real tokens)
      for (let t = t0, p = 0; t < (b + 1) * T; t++, p++) {
        positions[t] = p;
        segments[t] = row.length;
      }
    }
  });
  return { B, T, ids, targets, positions, segments, targetTokens, examples: rows.flat() };
}
