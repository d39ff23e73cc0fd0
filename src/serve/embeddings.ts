// POST /v1/embeddings as OpenAI defines it, on a local encoder: input as a string, a list of strings, or token ids
// (a list, or a list of lists), encoding_format float or base64 (the official clients ask for base64 and decode
// it), dimensions (a shorter vector, renormalised), usage in tokens. `input_type` ("query" / "passage", the name
// NVIDIA NIM and Cohere use) adds the model's query or passage prompt; without it texts are embedded as sent.
import path from 'node:path';
import type { Hono } from 'hono';
import { SentenceEmbedder, type EmbedderOptions, type TextKind } from '../models/sentence-embedder.js';
import { readJsonObject } from './body.js';
import { ApiError, badParam } from './errors.js';
import { modelObject, nowSeconds } from './openai.js';

/** An embedding model this server answers for. */
export class EmbeddingService {
  readonly id: string;
  readonly created = nowSeconds();
  readonly embedder: SentenceEmbedder;

  constructor(dir: string, opts: EmbedderOptions & { id?: string } = {}) {
    this.embedder = new SentenceEmbedder(dir, opts);
    this.id = opts.id ?? (path.basename(path.resolve(dir)) || 'embeddings');
  }

  modelObject(): object {
    return modelObject(this.id, this.created, 'shitate', 'embedding');
  }
}

/** Most inputs one request may carry (OpenAI's limit). */
export const MAX_INPUTS = 2048;

interface EmbeddingRequest {
  model: string;
  /** texts, or rows of token ids */
  input: string[] | number[][];
  format: 'float' | 'base64';
  dimensions: number | null;
  kind: TextKind;
}

const FIELDS = new Set(['model', 'input', 'encoding_format', 'dimensions', 'user', 'input_type']);

function parseInput(v: unknown): string[] | number[][] {
  const isIds = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((n) => Number.isInteger(n) && (n as number) >= 0);
  if (typeof v === 'string') return [v];
  if (isIds(v)) return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string')) return v as string[];
  if (Array.isArray(v) && v.length > 0 && v.every(isIds)) return v as number[][];
  throw badParam('input', 'expected a string, a list of strings, or token ids (a list of integers or a list of such lists), none of them empty');
}

export function parseEmbeddingRequest(body: Record<string, unknown>, allowUnknown: boolean): EmbeddingRequest {
  const unknown = Object.keys(body).filter((k) => !FIELDS.has(k));
  if (unknown.length > 0 && !allowUnknown) throw badParam(unknown[0], `unknown field (this endpoint accepts ${[...FIELDS].join(', ')})`, 'unknown_parameter');
  if (typeof body.model !== 'string' || body.model === '') throw badParam('model', 'expected the id of an embedding model');
  const input = parseInput(body.input);
  if (input.length > MAX_INPUTS) throw badParam('input', `expected at most ${MAX_INPUTS} inputs, found ${input.length}`);
  if (input.some((s) => s === '')) throw badParam('input', 'expected non-empty strings, found an empty one');
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') throw badParam('encoding_format', `expected "float" or "base64", found ${JSON.stringify(format)}`);
  const d = body.dimensions;
  if (d !== undefined && d !== null && !(Number.isInteger(d) && (d as number) >= 1)) throw badParam('dimensions', `expected a whole number >= 1, found ${JSON.stringify(d)}`);
  const t = body.input_type ?? 'none';
  const kinds: Record<string, TextKind> = { query: 'query', passage: 'passage', document: 'passage', none: 'none' };
  if (typeof t !== 'string' || !(t in kinds)) throw badParam('input_type', `expected "query", "passage" (or "document"), found ${JSON.stringify(t)}`);
  return { model: body.model, input, format, dimensions: typeof d === 'number' ? d : null, kind: kinds[t] };
}

/** The first `n` values, renormalised when the model normalises (OpenAI's shortened embeddings). */
function shorten(v: Float32Array, n: number, normalize: boolean): Float32Array {
  const s = v.slice(0, n);
  if (!normalize) return s;
  const norm = Math.hypot(...s) || 1;
  return s.map((x) => x / norm);
}

const base64 = (v: Float32Array): string => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');

/** Embeds a parsed request in batches, yielding to the event loop between them (chats keep streaming). */
export async function embeddingResponse(service: EmbeddingService, req: EmbeddingRequest): Promise<object> {
  const e = service.embedder;
  if (req.dimensions !== null && req.dimensions > e.dims) throw badParam('dimensions', `expected at most ${e.dims} for ${service.id}, found ${req.dimensions}`);
  const V = e.model.config.vocabSize;
  if (typeof req.input[0] !== 'string' && (req.input as number[][]).some((ids) => ids.some((id) => id >= V))) {
    throw badParam('input', `expected token ids below ${V} (the vocabulary of ${service.id})`);
  }
  const rows = typeof req.input[0] === 'string' ? e.tokenize(req.input as string[], req.kind) : (req.input as number[][]).map((ids) => e.text.frame(ids));
  const vectors: Float32Array[] = [];
  const step = 64;
  for (let i = 0; i < rows.length; i += step) {
    vectors.push(...e.embedIds(rows.slice(i, i + step)));
    await new Promise((r) => setImmediate(r));
  }
  const tokens = rows.reduce((n, r) => n + r.length, 0);
  const data = vectors.map((v, index) => {
    const out = req.dimensions !== null ? shorten(v, req.dimensions, e.normalize) : v;
    return { object: 'embedding', index, embedding: req.format === 'base64' ? base64(out) : Array.from(out) };
  });
  return { object: 'list', data, model: service.id, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}

/** Registers POST /v1/embeddings (behind whatever authentication the app already applies to /v1). */
export function embeddingRoutes(app: Hono, service: EmbeddingService, maxBody: number, allowUnknown: boolean): void {
  app.post('/v1/embeddings', async (c) => {
    const req = parseEmbeddingRequest(await readJsonObject(c.req.raw, maxBody), allowUnknown);
    if (req.model !== service.id) {
      throw new ApiError(404, `The model \`${req.model}\` does not exist; this server embeds with "${service.id}"`, { param: 'model', code: 'model_not_found' });
    }
    return Response.json(await embeddingResponse(service, req));
  });
}
