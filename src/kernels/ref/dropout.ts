// Reference inverted dropout with a counter-based mask: element i is kept iff uniform(seed, i) >= p, so
// backward recomputes the mask from the seed instead of storing it (kernels/rng.ts, shared with native).
import type { FA } from './types.js';
import { uniform } from '../rng.js';

/** out[i] = x[i] / (1 - p) when kept, else 0 */
export function dropout(out: FA, x: FA, n: number, p: number, seed: number): void {
  const keepScale = 1 / (1 - p);
  for (let i = 0; i < n; i++) out[i] = uniform(seed, i) >= p ? x[i] * keepScale : 0;
}

/** dx[i] += dout[i] / (1 - p) where element i was kept */
export function dropoutBackward(dx: FA, dout: FA, n: number, p: number, seed: number): void {
  const keepScale = 1 / (1 - p);
  for (let i = 0; i < n; i++) if (uniform(seed, i) >= p) dx[i] += dout[i] * keepScale;
}
