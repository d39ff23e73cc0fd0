// The HTTP surface as one `(Request) => Promise<Response>` function (routes on Hono), so tests call it
// in-process and node.ts puts it on a socket: the OpenAI endpoints, /health, and the adapter admin endpoints.
import { Hono } from 'hono';
import { addAdapter, listAdapters, removeAdapter } from './admin.js';
import { actingUser, KeyRing, requireKey, type Grant } from './auth.js';
import { readJsonObject } from './body.js';
import type { Engine } from './engine.js';
import { ApiError, errorResponse, toApiError } from './errors.js';
import { handleGeneration, modelNotFound, type GenerationContext } from './generation.js';
import { modelObject } from './openai.js';
import { parseChatRequest, parseCompletionRequest } from './request.js';
import { embeddingRoutes, type EmbeddingService } from './embeddings.js';

export interface ServeOptions {
  /** Bearer keys accepted on /v1 and /admin (none: no key needed) */
  apiKeys?: readonly string[];
  /** keys (accepted like apiKeys) with the users each may act for, i.e. whose memory it may use */
  keyUsers?: ReadonlyMap<string, Grant>;
  /** without any keys: whether a request's `user` field is believed (default true; serve sets it only on
   *  loopback, where the callers are this machine's own) */
  trustUserField?: boolean;
  /** when set, /admin needs this key (the API keys are not enough) */
  adminKey?: string | null;
  /** serve the /admin endpoints at all (default true) */
  admin?: boolean;
  /** largest request body in bytes (default 2 MiB) */
  maxBodyBytes?: number;
  /** write prompts and completions into the log (default false) */
  logPrompts?: boolean;
  /** ignore request fields this server does not know instead of answering 400 (default false) */
  allowUnknownFields?: boolean;
  /** return <think> blocks as reasoning_content (default true) */
  reasoning?: boolean;
  /** one line per request and per generation; nothing is logged without it */
  log?: (line: string) => void;
  /** an embedding model answering POST /v1/embeddings */
  embeddings?: EmbeddingService | null;
}

export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

export type Handler = (req: Request) => Promise<Response>;

interface Settings {
  keys: KeyRing;
  trustOpen: boolean;
  adminKeys: KeyRing;
  maxBody: number;
  allowUnknown: boolean;
  log: (line: string) => void;
}

export function createHandler(engine: Engine, opts: ServeOptions = {}): Handler {
  const keys = new KeyRing(opts.apiKeys ?? [], opts.keyUsers);
  const st: Settings = {
    keys,
    trustOpen: opts.trustUserField ?? true,
    adminKeys: opts.adminKey ? new KeyRing([opts.adminKey]) : keys,
    maxBody: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    allowUnknown: opts.allowUnknownFields ?? false,
    log: opts.log ?? (() => undefined),
  };
  const app = new Hono();
  app.use('*', async (c, next) => {
    const t0 = performance.now();
    await next();
    // the path only: query strings and bodies may carry what the log must not hold
    st.log(`${c.req.method} ${new URL(c.req.url).pathname} ${c.res.status} ${Math.round(performance.now() - t0)}ms`);
  });
  app.get('/health', () => {
    const closed = engine.scheduler.isClosed;
    return Response.json({ status: closed ? 'shutting_down' : 'ok', model: engine.baseId, models: engine.registry.list().length,
      ...engine.scheduler.stats() }, { status: closed ? 503 : 200 });
  });
  openAiRoutes(app, engine, st, { engine, logPrompts: opts.logPrompts ?? false, log: st.log, reasoning: opts.reasoning ?? true }, opts.embeddings ?? null);
  adminRoutes(app, engine, st, opts);
  app.notFound((c) => errorResponse(new ApiError(404, `Invalid URL (${c.req.method} ${new URL(c.req.url).pathname})`, { code: 'unknown_url' })));
  app.onError((err) => {
    const api = toApiError(err);
    if (api.status >= 500 && !(err instanceof ApiError)) st.log(`error: ${err.stack ?? err.message}`);
    return errorResponse(api);
  });
  return async (req) => app.fetch(req);
}

function openAiRoutes(app: Hono, engine: Engine, st: Settings, ctx: GenerationContext, embeddings: EmbeddingService | null): void {
  app.use('/v1/*', async (c, next) => {
    requireKey(c.req.raw, st.keys);
    await next();
  });
  app.get('/v1/models', () => Response.json({
    object: 'list', data: [...engine.registry.list().map((m) => modelObject(m.id, m.created, m.ownedBy, m.kind)), ...(embeddings ? [embeddings.modelObject()] : [])],
  }));
  if (embeddings) embeddingRoutes(app, embeddings, st.maxBody, st.allowUnknown);
  app.get('/v1/models/:id', (c) => {
    if (embeddings && c.req.param('id') === embeddings.id) return Response.json(embeddings.modelObject());
    const m = engine.registry.get(c.req.param('id'));
    if (!m) throw modelNotFound(c.req.param('id'));
    return Response.json(modelObject(m.id, m.created, m.ownedBy, m.kind));
  });
  const told = new Set<number>();
  app.post('/v1/chat/completions', async (c) => {
    const body = await readJsonObject(c.req.raw, st.maxBody);
    const req = parseChatRequest(body, st.allowUnknown);
    const who = st.keys.principal(c.req.raw);
    const user = actingUser(who, req.user, st.trustOpen);
    if (req.user !== undefined && user === undefined && !told.has(who.open ? -1 : who.key)) {
      told.add(who.open ? -1 : who.key);
      st.log(who.open ? 'note: requests name users, but without API keys the server cannot tell who sends them: no memory is used (see key_users)'
        : `note: requests with API key #${who.key + 1} name users, but key_users grants that key none: no memory is used for them`);
    }
    return handleGeneration(ctx, { ...req, user }, c.req.raw.signal);
  });
  app.post('/v1/completions', async (c) => {
    const body = await readJsonObject(c.req.raw, st.maxBody);
    return handleGeneration(ctx, parseCompletionRequest(body, st.allowUnknown), c.req.raw.signal);
  });
}

function adminRoutes(app: Hono, engine: Engine, st: Settings, opts: ServeOptions): void {
  app.use('/admin/*', async (c, next) => {
    if (opts.admin === false) {
      throw new ApiError(403, 'the admin endpoints are turned off on this server', { code: 'admin_disabled' });
    }
    requireKey(c.req.raw, st.adminKeys, opts.adminKey ? 'the admin key' : 'an API key');
    await next();
  });
  app.get('/admin/adapters', () => listAdapters(engine));
  app.post('/admin/adapters', (c) => addAdapter(engine, c.req.raw, st.maxBody));
  app.delete('/admin/adapters/:name', (c) => removeAdapter(engine, c.req.param('name')));
}
