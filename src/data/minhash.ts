// Near-duplicate search: MinHash signatures over character 3-gram shingles (no word splitting, so it
// works for Japanese) and LSH banding (8 bands x 4 rows), so each example meets only likely matches
// instead of every other example. Broder 1997 (MinHash); Leskovec et al., Mining of Massive Datasets ch. 3.
import { Column, int32s, uint16s, uint32s, uint8s, within } from './compact.js';
import { fmix32 } from './normalize.js';

export const K = 32;
export const BANDS = 8;
export const ROWS = K / BANDS;
export const SHINGLE = 3;
/** At most this many earlier examples are checked per band and example, so a huge bucket stays linear. */
export const BUCKET_WALK = 32;

// h_t(x) = a_t * x + b_t mod 2^32 with odd a_t: multiply-add hashing; its high bits, which decide
// the minimum, are close to min-wise independent on the already mixed shingle hash x.
const MUL = Uint32Array.from({ length: K }, (_, i) => fmix32(0x51ed270b + i * 0x9e3779b9) | 1);
const ADD = Uint32Array.from({ length: K }, (_, i) => fmix32(0x2545f491 ^ (i * 0x85ebca6b)));

/** MinHash of the text's character shingles into `out` (K values; all 0xffffffff for empty text). */
export function signature(folded: string, out: Uint32Array): void {
  out.fill(0xffffffff);
  const n = folded.length;
  const shingles = n <= SHINGLE ? (n > 0 ? 1 : 0) : n - SHINGLE + 1;
  for (let s = 0; s < shingles; s++) {
    let h = 0x811c9dc5;
    const end = Math.min(n, s + SHINGLE);
    for (let j = s; j < end; j++) h = Math.imul(h ^ folded.charCodeAt(j), 0x01000193);
    h = fmix32(h);
    for (let t = 0; t < K; t++) {
      const v = (Math.imul(h, MUL[t]) + ADD[t]) >>> 0;
      if (v < out[t]) out[t] = v;
    }
  }
}

/** Share of equal positions of two stored (16-bit) signatures: an estimate of their Jaccard similarity. */
function agreement(a: Uint16Array, ai: number, b: Uint16Array, bi: number): number {
  let same = 0;
  for (let t = 0; t < K; t++) if (a[ai + t] === b[bi + t]) same++;
  return same / K;
}

export interface Match {
  /** The earlier example. */
  other: number;
  question: number;
  answer: number;
}

/**
 * Signatures of the question side and the answer side of each example (low 16 bits of each min:
 * b-bit minwise hashing, Li & König 2010; false agreement 1 in 65536), and an LSH index of the
 * question side. Memory: about 220 bytes an example plus the bucket heads (8-16 bytes an example).
 */
export class NearDupIndex {
  // K values per example; K divides the column block, so one signature never spans two blocks
  private readonly q = new Column(uint16s);
  private readonly a = new Column(uint16s);
  /** [example * BANDS + band]: the band's bucket key, and the previous example in that bucket (-1: none). */
  private readonly keys = new Column(uint32s);
  private readonly next = new Column(int32s, -1);
  private readonly inserted = new Column(uint8s);
  /** Bucket heads, indexed by the low bits of the key; kept at most half full by doubling. Keys that
   *  share low bits share a chain, and are told apart by the full key stored per example. */
  private heads = new Int32Array(1 << 12).fill(-1);
  private chained = 0;
  /** mark[j] = the number of the query that last looked at j (no per-query set to allocate). */
  private readonly mark = new Column(int32s);
  count = 0;
  /** Earlier examples looked at by the last best() call (bounded by BANDS * BUCKET_WALK). */
  visited = 0;

  /** Stores an example's signatures; returns its id (ids are dense, from 0). */
  store(qSig: Uint32Array, aSig: Uint32Array): number {
    const at = this.q.reserve(K);
    this.a.reserve(K);
    const qb = this.q.blockOf(at);
    const ab = this.a.blockOf(at);
    const off = within(at);
    for (let t = 0; t < K; t++) {
      qb[off + t] = qSig[t] & 0xffff;
      ab[off + t] = aSig[t] & 0xffff;
    }
    this.keys.reserve(BANDS);
    this.next.reserve(BANDS); // filled with -1
    this.mark.push(0);
    this.inserted.push(0);
    return this.count++;
  }

  /** Bucket of one band; `salt` keeps examples that can never match (other numbers) out of each other's buckets. */
  private bandKey(sig: Uint32Array, band: number, salt: number): number {
    let h = fmix32(Math.imul(band + 1, 0x9e3779b1) ^ salt);
    for (let r = 0; r < ROWS; r++) h = fmix32(h ^ Math.imul(sig[band * ROWS + r], 0xcc9e2d51));
    return h;
  }

  private link(id: number): void {
    const mask = this.heads.length - 1;
    for (let b = 0; b < BANDS; b++) {
      const slot = this.keys.get(id * BANDS + b) & mask;
      this.next.set(id * BANDS + b, this.heads[slot]);
      this.heads[slot] = id;
    }
  }

  /** Makes a stored example findable by later ones. */
  insert(id: number, qSig: Uint32Array, salt: number): void {
    for (let b = 0; b < BANDS; b++) this.keys.set(id * BANDS + b, this.bandKey(qSig, b, salt));
    this.inserted.set(id, 1);
    this.chained++;
    if (this.chained * BANDS * 2 <= this.heads.length) { this.link(id); return; }
    // double the heads and relink every chain in insertion order (amortised O(1) per insert)
    this.heads = new Int32Array(this.heads.length * 2).fill(-1);
    for (let j = 0; j < this.count; j++) if (this.inserted.get(j)) this.link(j);
  }

  /** Scratch copies of the query's signatures, in the stored 16-bit form. */
  private readonly qq = new Uint16Array(K);
  private readonly qa = new Uint16Array(K);
  private queries = 0;

  private simTo(side: Column<Uint16Array>, id: number, query: Uint16Array): number {
    return agreement(side.blockOf(id * K), within(id * K), query, 0);
  }

  /** Answer-side similarity of a stored example and the signature of another. */
  answerSimilarity(id: number, aSig: Uint32Array): number {
    for (let t = 0; t < K; t++) this.qa[t] = aSig[t] & 0xffff;
    return this.simTo(this.a, id, this.qa);
  }

  /**
   * The inserted example (same salt) whose question side agrees with the query's on at least
   * `threshold` of the signature, best by question + answer similarity; or null. The query itself
   * need not be stored, so examples past the memory limit are still compared with the stored ones.
   */
  best(qSig: Uint32Array, aSig: Uint32Array, salt: number, threshold: number): Match | null {
    for (let t = 0; t < K; t++) {
      this.qq[t] = qSig[t] & 0xffff;
      this.qa[t] = aSig[t] & 0xffff;
    }
    const stamp = ++this.queries;
    let best: Match | null = null;
    this.visited = 0;
    for (let b = 0; b < BANDS; b++) {
      const key = this.bandKey(qSig, b, salt);
      let j = this.heads[key & (this.heads.length - 1)];
      for (let walked = 0, steps = 0; j !== -1 && walked < BUCKET_WALK && steps < 4 * BUCKET_WALK; steps++, j = this.next.get(j * BANDS + b)) {
        if (this.keys.get(j * BANDS + b) !== key) continue; // another bucket sharing this chain
        walked++;
        if (this.mark.get(j) === stamp) continue;
        this.mark.set(j, stamp);
        this.visited++;
        const sq = this.simTo(this.q, j, this.qq);
        if (sq < threshold) continue;
        const sa = this.simTo(this.a, j, this.qa);
        if (!best || sq + sa > best.question + best.answer) best = { other: j, question: sq, answer: sa };
      }
    }
    return best;
  }
}
