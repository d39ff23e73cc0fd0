// Public surface of generate/: sampling, streaming generation, chat prompts and the one-call model opener.
export { makeSampler, samplingDistribution, seededUniform, validateSampler, type Sampler, type SamplerOptions } from './sampler.js';
export { HF_DEFAULT_TOP_K, resolveSampling } from './settings.js';
export { StopMatcher, type StopStep } from './stop.js';
export {
  DEFAULT_MAX_NEW_TOKENS, generate, generateText, resolveMaxNewTokens,
  type GenerationModel, type FinishReason, type GenDone, type GenEvent, type GenerateOptions, type GenerateTarget, type GenToken, type GeneratedText,
} from './generate.js';
export { Generation, PREFILL_CHUNK, type Phase } from './session.js';
export { chatPrompt } from './chat.js';
export { anchoredSampler, checkQuoteStrength, DEFAULT_QUOTE_STRENGTH, type AnchorOptions } from './anchor.js';
export { openModel, type OpenModelOptions, type OpenedModel } from './open.js';
export { ReasoningStream, answerOnly, hasReasoning, reasoningMode, splitReasoning, type ReasoningMode, type Split } from './reasoning.js';
