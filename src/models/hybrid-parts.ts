// What the hybrid families (Qwen3.5, LFM2) share around their token mixers: the per-call context a mixer reads
// besides its layer's weights, and the check that a layer of one kind carries the weights that kind needs.
import { ShitateError } from '../errors.js';
import { highestPosition, inputPositions } from './decoder.js';
import type { KVCache } from './kv-cache.js';
import type { RotaryTables } from './rope.js';
import type { ForwardInput } from './types.js';

/** What a token mixer needs besides its layer's weights. */
export interface MixContext {
  B: number;
  T: number;
  pos: Int32Array;
  segments: Int32Array | null;
  cache: KVCache | null;
}

/** The input's positions (rotary tables grown to cover them), segments and cache. */
export function mixContext(input: ForwardInput, maxPositions: number, rotary: RotaryTables): MixContext {
  const pos = inputPositions(input, maxPositions);
  rotary.ensure(highestPosition(pos) + 1);
  return { B: input.batch, T: input.seqLen, pos, segments: input.segments ?? null, cache: input.cache ?? null };
}

/** A weight the layer's kind must have (the parameter table guarantees it; null here is a bug). */
export function need<T>(family: string, x: T | null, what: string): T {
  if (x === null) throw new ShitateError('E_INTERNAL', `${family}: a layer of this kind has no ${what}`, 'this is a bug in shitate; please report it');
  return x;
}
