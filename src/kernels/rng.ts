// Counter-based random numbers shared bit-for-bit by the TS and native kernels (dropout masks), so a mask
// can be recomputed from (seed, index) in backward instead of being stored.

/** 32-bit mix of (seed, i): a murmur3-style finaliser over seed ^ (i * golden ratio). Both arguments are
 *  treated as uint32. The native twin is in native/src/rng.h and must stay identical. */
export function hash32(seed: number, i: number): number {
  let h = (seed ^ Math.imul(i >>> 0, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h;
}

/** uniform in [0, 1) with 24 bits, exactly representable in float32 */
export function uniform(seed: number, i: number): number {
  return (hash32(seed, i) >>> 8) / 16777216;
}

/** A seeded PRNG with a one-number state (mulberry32), so data order, initialisations and test inputs are
 *  reproducible and resume exactly. */
export class Rng {
  state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** uniform in [0, 1) */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** standard normal (Box-Muller; one of the pair is dropped, keeping the state a single number) */
  normal(): number {
    const u1 = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Fisher-Yates in place */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}
