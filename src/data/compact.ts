// Compact per-example state for large inputs: typed-array columns that grow in fixed blocks (no
// doubling slack, no copy when they grow) and a hash index that stores only example ids (the keys
// live in a column already). A JS Map would cost ~10x the memory per entry at millions of examples.
import { fmix32 } from './normalize.js';

type IntArray = Int32Array | Uint8Array | Uint16Array | Uint32Array | Float64Array;

const BLOCK_BITS = 16;
const BLOCK = 1 << BLOCK_BITS;
const MASK = BLOCK - 1;

/** A growable array of numbers stored in blocks of 65,536 typed values. */
export class Column<T extends IntArray> {
  private readonly blocks: T[] = [];
  length = 0;

  constructor(private readonly make: (n: number) => T, private readonly initial = 0) {}

  push(v: number): void {
    const b = this.length >>> BLOCK_BITS;
    if (b === this.blocks.length) {
      const block = this.make(BLOCK);
      if (this.initial !== 0) block.fill(this.initial);
      this.blocks.push(block);
    }
    this.blocks[b][this.length & MASK] = v;
    this.length++;
  }

  /** Appends n values (the initial value) and returns the index of the first; when n divides the block
   *  size and every append to this column is n long, the run lies inside one block. */
  reserve(n: number): number {
    const start = this.length;
    const end = start + n;
    while (this.blocks.length * BLOCK < end) {
      const block = this.make(BLOCK);
      if (this.initial !== 0) block.fill(this.initial);
      this.blocks.push(block);
    }
    this.length = end;
    return start;
  }

  get(i: number): number {
    return this.blocks[i >>> BLOCK_BITS][i & MASK];
  }

  set(i: number, v: number): void {
    this.blocks[i >>> BLOCK_BITS][i & MASK] = v;
  }

  /** The block holding index i (read it at `within(i)`): for runs that never cross a block, such as
   *  fixed-width records whose width divides the block size. */
  blockOf(i: number): T {
    return this.blocks[i >>> BLOCK_BITS];
  }
}

/** Position of index i inside its block. */
export function within(i: number): number {
  return i & MASK;
}

export const int32s = (n: number): Int32Array => new Int32Array(n);
export const uint8s = (n: number): Uint8Array => new Uint8Array(n);
export const uint16s = (n: number): Uint16Array => new Uint16Array(n);
export const uint32s = (n: number): Uint32Array => new Uint32Array(n);
export const float64s = (n: number): Float64Array => new Float64Array(n);

/**
 * Key -> first example id with that key, for integer keys below 2^53 that are stored elsewhere
 * (`keyOf(id)`): the table holds only ids (4 bytes a slot, linear probing, at most 70% full).
 */
export class IdIndex {
  private slots = new Int32Array(1 << 10).fill(-1);
  private size = 0;

  constructor(private readonly keyOf: (id: number) => number) {}

  private slotOf(key: number): number {
    const mask = this.slots.length - 1;
    const lo = key >>> 0;
    const hi = Math.floor(key / 4294967296) >>> 0;
    let i = fmix32(lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    while (this.slots[i] !== -1 && this.keyOf(this.slots[i]) !== key) i = (i + 1) & mask;
    return i;
  }

  /** The id stored for key, or -1. */
  get(key: number): number {
    return this.slots[this.slotOf(key)];
  }

  /** Stores id under its key (keyOf(id) must already answer it); an existing entry is kept. */
  add(id: number): void {
    const i = this.slotOf(this.keyOf(id));
    if (this.slots[i] !== -1) return;
    this.slots[i] = id;
    // up to 70% full: linear probing still needs ~2 probes for a hit, ~6 for a miss
    if (++this.size * 10 > this.slots.length * 7) this.grow();
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2).fill(-1);
    for (const id of old) if (id !== -1) this.slots[this.slotOf(this.keyOf(id))] = id;
  }
}
