// The server of `shitate serve --embedding-model DIR` without a chat model: /health, /v1/models and
// POST /v1/embeddings with the same API keys, body limits and OpenAI-shaped errors as the full server.
import { Hono } from 'hono';
import { KeyRing, requireKey } from './auth.js';
import { DEFAULT_MAX_BODY_BYTES, type Handler, type ServeOptions } from './app.js';
import { embeddingRoutes, type EmbeddingService } from './embeddings.js';
import { ApiError, errorResponse, toApiError } from './errors.js';

export function createEmbeddingHandler(service: EmbeddingService, opts: Pick<ServeOptions, 'apiKeys' | 'keyUsers' | 'maxBodyBytes' | 'allowUnknownFields' | 'log'> = {}): Handler {
  const keys = new KeyRing(opts.apiKeys ?? [], opts.keyUsers);
  const log = opts.log ?? (() => undefined);
  const app = new Hono();
  app.use('*', async (c, next) => {
    const t0 = performance.now();
    await next();
    log(`${c.req.method} ${new URL(c.req.url).pathname} ${c.res.status} ${Math.round(performance.now() - t0)}ms`);
  });
  app.get('/health', () => Response.json({ status: 'ok', model: service.id, models: 1 }));
  app.use('/v1/*', async (c, next) => {
    requireKey(c.req.raw, keys);
    await next();
  });
  app.get('/v1/models', () => Response.json({ object: 'list', data: [service.modelObject()] }));
  app.get('/v1/models/:id', (c) => {
    if (c.req.param('id') !== service.id) throw new ApiError(404, `The model \`${c.req.param('id')}\` does not exist`, { param: 'model', code: 'model_not_found' });
    return Response.json(service.modelObject());
  });
  embeddingRoutes(app, service, opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, opts.allowUnknownFields ?? false);
  app.notFound((c) => errorResponse(new ApiError(404, `Invalid URL (${c.req.method} ${new URL(c.req.url).pathname})`, { code: 'unknown_url' })));
  app.onError((err) => {
    const api = toApiError(err);
    if (api.status >= 500 && !(err instanceof ApiError)) log(`error: ${err.stack ?? err.message}`);
    return errorResponse(api);
  });
  return async (req) => app.fetch(req);
}
