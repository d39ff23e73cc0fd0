// Llama 3.1/3.2 RoPE scaling in GGUF form: llama.cpp divides each rotary frequency by a factor read from the
// rope_freqs.weight tensor [D/2], computed as convert_hf_to_gguf.py does (float32 frequencies and wavelengths).
import { assert } from '../errors.js';
import type { ModelConfig } from '../models/index.js';

const f = Math.fround;

export function llama3RopeFactors(c: ModelConfig): Float32Array {
  const s = c.ropeScaling;
  assert(s?.type === 'llama3', 'rope factors need llama3 scaling');
  const D = c.headDim;
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  const out = new Float32Array(D / 2);
  for (let i = 0; i < D / 2; i++) {
    const freq = f(1 / f(Math.pow(c.ropeTheta, f(f(2 * i) / D))));
    const wavelen = f((2 * Math.PI) / freq);
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = s.factor;
    else {
      const smooth = f(f(f(s.originalMaxPositions / wavelen) - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor));
      out[i] = f(1 / f(f(f(1 - smooth) / s.factor) + smooth));
    }
  }
  return out;
}
