// Phi-3's rotary embedding as Phi3Config (transformers 5) reads it: rope_scaling (4.x) or rope_parameters (5.x) of
// type "default" or LongRoPE ("longrope"; older configs say "su" or "yarn"), partial_rotary_factor, and
// original_max_position_embeddings; and the cos/sin tables, which LongRoPE switches from the short factors to the
// long ones for a forward whose largest position + 1 exceeds original_max_position_embeddings.
import { ShitateError } from '../errors.js';
import { Fields } from '../io/json-fields.js';
import { isRecord } from '../io/safetensors-header.js';
import { RotaryTables, ropeInvFreq } from './rope.js';

export interface LongRope {
  /** rescale factors of the R/2 frequencies for short and long contexts ([R/2] each) */
  short: number[];
  long: number[];
  /** pretraining context: positions + 1 beyond it switch to the long factors */
  originalMaxPositions: number;
  /** cos and sin are multiplied by it (both factor sets) */
  attentionFactor: number;
}

export interface Phi3Rope {
  theta: number;
  /** R: rotated dims per head, int(head_dim * partial_rotary_factor) */
  rotaryDim: number;
  longrope: LongRope | null;
}

const f = Math.fround;

function factorList(s: Fields, key: string, n: number): number[] {
  const v = s.obj[key];
  if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
    throw new ShitateError('E_CONFIG', `${s.file}: expected "${key}" to list ${n} positive numbers (one per rotary frequency), found ${JSON.stringify(v)}`,
      'the LongRoPE factors do not fit this head size; compare config.json with the original on the Hub');
  }
  return v as number[];
}

function rotaryDim(f: Fields, s: Fields, headDim: number): number {
  // standardize_rope_params: a top-level partial_rotary_factor overrides the one inside the rope dict
  const partial = f.optNum('partial_rotary_factor') ?? s.optNum('partial_rotary_factor') ?? 1;
  const R = Math.trunc(headDim * partial);
  if (!(partial > 0 && partial <= 1) || R <= 0 || R % 2 !== 0) {
    throw new ShitateError('E_CONFIG', `${f.file}: expected partial_rotary_factor in (0, 1] giving an even number of rotary dims of head_dim ${headDim}, found ${partial} (${R} dims)`,
      'the config is damaged; compare it with the original on the Hub');
  }
  return R;
}

/** The RoPE fields of a phi3 config.json. */
export function parsePhi3Rope(f: Fields, headDim: number, maxPositions: number): Phi3Rope {
  const legacy = f.obj.rope_scaling;
  const raw = legacy !== undefined && legacy !== null ? legacy : f.obj.rope_parameters ?? null;
  const key = raw === legacy ? 'rope_scaling' : 'rope_parameters';
  if (raw !== null && !isRecord(raw)) {
    throw new ShitateError('E_CONFIG', `${f.file}: expected "${key}" to be an object or null, found ${JSON.stringify(raw)}`, 'the config is damaged');
  }
  const s = new Fields(`${f.file} ${key}`, raw ?? {});
  const theta = s.has('rope_theta') ? s.posNum('rope_theta') : f.posNum('rope_theta', 10000);
  const R = rotaryDim(f, s, headDim);
  let type = raw ? raw.rope_type ?? raw.type ?? 'default' : 'default';
  if (type === 'su' || type === 'yarn') type = 'longrope'; // Phi3Config: the names older Phi-3 configs used
  if (type === 'default') return { theta, rotaryDim: R, longrope: null };
  if (type !== 'longrope') {
    throw new ShitateError('E_UNSUPPORTED_MODEL', `${f.file}: expected "${key}" of type "default" or "longrope" (Phi-3), found ${JSON.stringify(type)}`,
      'Phi-3 models use LongRoPE or no scaling; the config belongs to another architecture or was edited');
  }
  // Phi3Config always carries original_max_position_embeddings (default 4096), and it wins over the rope dict's
  const orig = f.posInt('original_max_position_embeddings', 4096);
  const factor = s.optNum('factor') ?? maxPositions / orig;
  const given = s.optNum('attention_factor');
  const attentionFactor = given ?? (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(orig)));
  return {
    theta, rotaryDim: R,
    longrope: { short: factorList(s, 'short_factor', R / 2), long: factorList(s, 'long_factor', R / 2), originalMaxPositions: orig, attentionFactor },
  };
}

/** inv_freq[i] = 1 / (ext[i] * theta^(2i/R)) in float32 steps, as _compute_longrope_parameters. [R/2] */
function longInvFreq(R: number, theta: number, ext: readonly number[]): Float32Array {
  return Float32Array.from({ length: R / 2 }, (_, i) => f(1 / f(f(ext[i]) * f(Math.pow(theta, f(f(2 * i) / R))))));
}

/** cos/sin [P, R/2] of a Phi-3 model: one table without LongRoPE, short and long tables with it. */
export class Phi3RopeTables {
  private readonly short: RotaryTables;
  private readonly long: RotaryTables | null;

  constructor(private readonly rope: Phi3Rope) {
    const { rotaryDim: R, theta, longrope: lr } = rope;
    this.short = lr ? new RotaryTables(R, theta, null, longInvFreq(R, theta, lr.short), lr.attentionFactor)
      : new RotaryTables(R, theta, null, ropeInvFreq(R, theta, null));
    this.long = lr ? new RotaryTables(R, theta, null, longInvFreq(R, theta, lr.long), lr.attentionFactor) : null;
  }

  /** Whether a forward whose largest position is maxPos runs on the long factors. */
  isLong(maxPos: number): boolean {
    return this.long !== null && this.rope.longrope !== null && maxPos + 1 > this.rope.longrope.originalMaxPositions;
  }

  /** The tables for a forward whose largest position is maxPos, grown to cover it. */
  forForward(maxPos: number): RotaryTables {
    const t = this.isLong(maxPos) && this.long ? this.long : this.short;
    t.ensure(maxPos + 1);
    return t;
  }
}
