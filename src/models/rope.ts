// Rotary position embedding, the shared RoPE scheme: its config.json fields (transformers 4.x rope_theta +
// rope_scaling, 5.x rope_parameters) and its tables as transformers builds them (float32 arithmetic step by
// step, so cos/sin match PyTorch to the last bit or one ulp): inv_freq with "linear", "llama3" or "yarn"
// scaling, cos/sin [P, D/2] (times YaRN's attention factor).
import { ShitateError } from '../errors.js';
import { isRecord } from '../io/safetensors-header.js';
import { Fields } from '../io/json-fields.js';
import type { RopeScaling } from './types.js';

export const SUPPORTED_ROPE_TYPES = ['default', 'linear', 'llama3', 'yarn'] as const;

/** YaRN's magnitude correction, transformers' get_mscale: 0.1 * mscale * ln(scale) + 1 (1 for scale <= 1). */
function yarnMscale(scale: number, mscale = 1): number {
  return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
}

/** rope_scaling / rope_parameters of type "yarn" (transformers 5's _compute_yarn_parameters). */
function parseYarn(s: Fields, maxPositions: number): RopeScaling {
  let factor = s.posNum('factor');
  const orig = s.has('original_max_position_embeddings') ? s.posInt('original_max_position_embeddings') : null;
  // transformers: with original_max_position_embeddings the factor is the ratio of the two context lengths
  if (orig !== null) factor = maxPositions / orig;
  const mscale = s.optNum('mscale');
  const mscaleAllDim = s.optNum('mscale_all_dim');
  const given = s.optNum('attention_factor');
  const attentionFactor = given ?? (mscale && mscaleAllDim ? yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim) : yarnMscale(factor));
  return {
    type: 'yarn', factor, originalMaxPositions: orig ?? maxPositions, attentionFactor,
    betaFast: s.optNum('beta_fast') || 32, betaSlow: s.optNum('beta_slow') || 1, truncate: s.bool('truncate', true),
  };
}

/** theta and scaling as transformers 5 resolves them: rope_scaling (4.x) if set, else rope_parameters (5.x);
 *  rope_theta from inside that object, else the top-level rope_theta, else the family default. */
export function parseRope(f: Fields, defaultTheta: number, maxPositions: number): { theta: number; scaling: RopeScaling | null } {
  const legacy = f.obj.rope_scaling;
  const raw = legacy !== undefined && legacy !== null ? legacy : f.obj.rope_parameters ?? null;
  const key = raw === legacy ? 'rope_scaling' : 'rope_parameters';
  if (raw !== null && !isRecord(raw)) {
    throw new ShitateError('E_CONFIG', `${f.file}: expected "${key}" to be an object or null, found ${JSON.stringify(raw)}`, 'the config is damaged');
  }
  const s = new Fields(`${f.file} ${key}`, raw ?? {});
  if (raw && Object.values(raw).some(isRecord)) {
    throw new ShitateError('E_UNSUPPORTED_MODEL', `${f.file}: expected one set of "${key}", found one per layer type (${Object.keys(raw).join(', ')})`,
      'per-layer-type RoPE belongs to families with local and global layers; this model_type has one RoPE for every layer');
  }
  const theta = s.has('rope_theta') ? s.posNum('rope_theta') : f.posNum('rope_theta', defaultTheta);
  const partial = s.optNum('partial_rotary_factor') ?? f.optNum('partial_rotary_factor');
  if (partial !== null && partial !== 1) {
    throw new ShitateError('E_UNSUPPORTED_MODEL', `${f.file}: expected partial_rotary_factor 1 (RoPE over the whole head), found ${partial}`,
      'this model_type rotates every head dimension; the config belongs to another architecture');
  }
  const type = raw ? raw.rope_type ?? raw.type ?? 'default' : 'default';
  if (type === 'default') return { theta, scaling: null };
  if (type === 'linear') return { theta, scaling: { type: 'linear', factor: s.posNum('factor') } };
  if (type === 'llama3') {
    return {
      theta,
      scaling: {
        type: 'llama3',
        factor: s.posNum('factor'),
        lowFreqFactor: s.posNum('low_freq_factor'),
        highFreqFactor: s.posNum('high_freq_factor'),
        originalMaxPositions: s.posInt('original_max_position_embeddings'),
      },
    };
  }
  if (type === 'yarn') return { theta, scaling: parseYarn(s, maxPositions) };
  throw new ShitateError('E_UNSUPPORTED_MODEL',
    `${f.file}: expected a rope scaling type among ${SUPPORTED_ROPE_TYPES.join(', ')} in "${key}", found ${JSON.stringify(type)}`,
    `this model uses a long-context RoPE variant shitate does not implement; pick a model without it, or remove ${key} to run at the original context length`);
}

const f = Math.fround;

/** inv_freq[i] = 1 / theta^(2i/D), then the checkpoint's rope_scaling. [D/2] */
export function ropeInvFreq(D: number, theta: number, scaling: RopeScaling | null): Float32Array {
  const half = D / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(Math.pow(theta, f(f(2 * i) / D))));
  if (!scaling) return inv;
  if (scaling.type === 'linear') return inv.map((x) => f(x / scaling.factor));
  if (scaling.type === 'yarn') return yarnInvFreq(D, theta, scaling);
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

/** YaRN: frequencies below the correction range interpolated (divided by factor), above it kept, a linear
 *  ramp between (float32 steps as transformers' _compute_yarn_parameters). [D/2] */
function yarnInvFreq(D: number, theta: number, y: Extract<RopeScaling, { type: 'yarn' }>): Float32Array {
  const dimOf = (rotations: number) => (D * Math.log(y.originalMaxPositions / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
  let low = dimOf(y.betaFast);
  let high = dimOf(y.betaSlow);
  if (y.truncate) [low, high] = [Math.floor(low), Math.ceil(high)];
  [low, high] = [Math.max(low, 0), Math.min(high, D - 1)];
  if (low === high) high += 0.001; // transformers' guard against a zero-width ramp
  return Float32Array.from({ length: D / 2 }, (_, i) => {
    const posFreq = f(Math.pow(theta, f(f(2 * i) / D))); // theta^(2i/D)
    const interpolation = f(1 / f(y.factor * posFreq));
    const ramp = Math.min(1, Math.max(0, f(f(i - f(low)) / f(high - low))));
    const keep = f(1 - ramp); // share of the unscaled frequency
    return f(f(interpolation * f(1 - keep)) + f(f(1 / posFreq) * keep));
  });
}

/** cos/sin tables [P, D/2] for positions 0..P-1, grown on demand (doubling) up to maxPositions. */
export class RotaryTables {
  readonly invFreq: Float32Array;
  /** YaRN's attention factor multiplies cos and sin (1 otherwise) */
  readonly attentionFactor: number;
  cos = new Float32Array(0);
  sin = new Float32Array(0);
  private P = 0;

  /** `invFreq` [D/2], when given, replaces the frequencies theta and scaling would give (Gemma 4's
   *  proportional RoPE, Phi-3's LongRoPE compute their own); `attentionFactor`, when given, replaces YaRN's. */
  constructor(D: number, theta: number, scaling: RopeScaling | null, invFreq?: Float32Array, attentionFactor?: number) {
    this.invFreq = invFreq ?? ropeInvFreq(D, theta, scaling);
    this.attentionFactor = attentionFactor !== undefined ? f(attentionFactor) : scaling?.type === 'yarn' ? f(scaling.attentionFactor) : 1;
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
        const af = this.attentionFactor;
        cos[p * half + i] = af === 1 ? Math.cos(a) : f(f(Math.cos(a)) * af);
        sin[p * half + i] = af === 1 ? Math.sin(a) : f(f(Math.sin(a)) * af);
      }
    }
    this.cos = cos;
    this.sin = sin;
    this.P = n;
  }
}
