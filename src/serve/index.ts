// Public surface of serve/: the OpenAI-compatible handler, the engine behind it, the model registry other
// modules extend, and the Node listener.
export { createHandler, DEFAULT_MAX_BODY_BYTES, type Handler, type ServeOptions } from './app.js';
export { EmbeddingService, embeddingResponse, parseEmbeddingRequest, MAX_INPUTS } from './embeddings.js';
export { createEmbeddingHandler } from './embeddings-app.js';
export { Engine, DEFAULT_LIMITS, type EngineOptions } from './engine.js';
export { AdapterBank, type AdapterSlot } from './adapters.js';
export { ModelRegistry, MODEL_ID, type ChatTurn, type ReplyEvent, type RequestContext, type ServedModel } from './registry.js';
export { serveAssistants, type AssistantServeOptions, type ServedAssistants } from './assistants.js';
export { Scheduler, type Job, type SchedulerLimits, type SchedulerStats } from './scheduler.js';
export { ApiError, type ErrorBody } from './errors.js';
export type { SamplingParams } from './params.js';
export { listen, isLoopback, DEFAULT_HOST, type ListenOptions, type RunningServer } from './node.js';
export { resolveServeConfig, SERVE_DEFAULTS, SERVE_SCHEMA, type ServeConfig } from './config.js';
