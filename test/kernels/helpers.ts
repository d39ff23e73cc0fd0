// Test helpers for the kernel suites: a seeded PRNG (the project's mulberry32 + Box-Muller), random buffers
// and comparison utilities.
import { Rng as BaseRng } from '../../src/kernels/rng.js';

/** Deterministic random source for test inputs: the project's mulberry32 generator (src/kernels/rng.ts) plus
 *  Box-Muller normals that keep the second value of each pair, and integers in a range. */
export class Rng extends BaseRng {
  private spare: number | null = null;

  uniform(): number {
    return this.next();
  }

  override normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const u1 = 1 - this.uniform(); // (0, 1]: log never sees 0
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** integer in [lo, hi) */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo));
  }
}

export function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

export function randn64(rng: Rng, n: number, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

export function randInts(rng: Rng, n: number, lo: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.int(lo, hi);
  return a;
}

/** max_i |a - b| / (|b| + floor): relative error that does not blow up where the expected value is ~0 */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>, floor: number): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]) / (Math.abs(b[i]) + floor);
    if (!(e <= m)) m = e;
  }
  return m;
}

/** Precomputed rotary tables [P, D/2] with HF Llama's frequencies (base theta). */
export function ropeTables(P: number, D: number, theta = 10000): { cos: Float32Array; sin: Float32Array } {
  const half = D / 2;
  const cos = new Float32Array(P * half);
  const sin = new Float32Array(P * half);
  for (let p = 0; p < P; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p / Math.pow(theta, (2 * i) / D);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
