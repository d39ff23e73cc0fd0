// Rotary-embedding tables as transformers builds them (float32 arithmetic step by step, so cos/sin match
// PyTorch to the last bit or one ulp): inv_freq with "linear" and "llama3" scaling, cos/sin [P, D/2].
import type { RopeScaling } from '../io/hf-config.js';

const f = Math.fround;

/** inv_freq[i] = 1 / theta^(2i/D), then the checkpoint's rope_scaling. [D/2] */
export function ropeInvFreq(D: number, theta: number, scaling: RopeScaling | null): Float32Array {
  const half = D / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(Math.pow(theta, f(f(2 * i) / D))));
  if (!scaling) return inv;
  if (scaling.type === 'linear') return inv.map((x) => f(x / scaling.factor));
  // llama3 (Llama 3.1/3.2): long wavelengths divided by factor, short kept, the band between smoothed
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions: old } = scaling;
  const lowWavelen = old / lowFreqFactor;
  const highWavelen = old / highFreqFactor;
  return inv.map((x) => {
    const wavelen = f((2 * Math.PI) / x);
    const scaled = wavelen > lowWavelen ? f(x / factor) : x;
    if (wavelen < highWavelen || wavelen > lowWavelen) return scaled;
    const smooth = f(f(f(old / wavelen) - lowFreqFactor) / (highFreqFactor - lowFreqFactor));
    return f(f(f(f(1 - smooth) * scaled) / factor) + f(smooth * scaled));
  });
}

/** cos/sin tables [P, D/2] for positions 0..P-1, grown on demand (doubling) up to maxPositions. */
export class RotaryTables {
  readonly invFreq: Float32Array;
  cos = new Float32Array(0);
  sin = new Float32Array(0);
  private P = 0;

  constructor(D: number, theta: number, scaling: RopeScaling | null) {
    this.invFreq = ropeInvFreq(D, theta, scaling);
  }

  /** Makes sure positions [0, P) are in the tables. */
  ensure(P: number): void {
    if (P <= this.P) return;
    const n = Math.max(P, this.P * 2, 64);
    const half = this.invFreq.length;
    const cos = new Float32Array(n * half);
    const sin = new Float32Array(n * half);
    for (let p = 0; p < n; p++) {
      for (let i = 0; i < half; i++) {
        const a = f(this.invFreq[i] * p); // float32 product, as the reference's matmul of positions
        cos[p * half + i] = Math.cos(a);
        sin[p * half + i] = Math.sin(a);
      }
    }
    this.cos = cos;
    this.sin = sin;
    this.P = n;
  }
}
