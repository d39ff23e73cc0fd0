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
