// Sampling defaults: what the caller asked for, else what the model's generation_config.json recommends,
// else transformers' own defaults (greedy unless do_sample; top_k 50 and top_p 1 when sampling).
import type { GenerationConfig } from '../io/generation-config.js';
import type { SamplerOptions } from './sampler.js';

/** transformers' GenerationConfig default for top_k, used when sampling and nobody set one */
export const HF_DEFAULT_TOP_K = 50;

/**
 * Resolves sampler settings. The model's config samples only when it says do_sample: true (transformers
 * ignores its temperature otherwise); an explicit temperature > 0 from the caller turns sampling on, 0 off.
 */
export function resolveSampling(gen: GenerationConfig | null | undefined, user: SamplerOptions): SamplerOptions {
  const modelSamples = gen?.doSample === true;
  const temperature = user.temperature ?? (modelSamples ? (gen?.temperature ?? 1) : 0);
  const out: SamplerOptions = {
    temperature,
    topK: user.topK ?? gen?.topK ?? HF_DEFAULT_TOP_K,
    topP: user.topP ?? gen?.topP ?? 1,
    minP: user.minP ?? 0,
    repetitionPenalty: user.repetitionPenalty ?? gen?.repetitionPenalty ?? 1,
  };
  if (user.seed !== undefined) out.seed = user.seed;
  if (user.vocabLimit !== undefined) out.vocabLimit = user.vocabLimit;
  return out;
}
