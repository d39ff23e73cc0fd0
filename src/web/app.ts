// shitate studio's HTTP surface as one `(Request) => Promise<Response>` function on Hono, like `shitate
// serve`: the page and its files, and the JSON API (documented in docs/studio-api.md) that drives the same
// operations as the CLI. Tests call it in-process; web/index.ts puts it on a socket through serve/'s listener.
import os from 'node:os';
import { Hono } from 'hono';
import type { Lang } from '../catalog/types.js';
import { projectHome } from '../rag/index.js';
import { checkRequest } from './auth.js';
import { activeJobs, type StudioContext } from './context.js';
import { dataRoutes } from './routes-data.js';
import { errorJson, StudioError, toStudioError } from './errors.js';
import { evalActivity, evalRoutes } from './evals.js';
import { exportActivity, exportOptions, exportRoutes } from './exports.js';
import type { CliCommand } from './jobs.js';
import { defaultModelRoots } from './models.js';
import { Playground, playgroundRoutes } from './playground.js';
import { assistantRoutes } from './routes-assistants.js';
import { methodRoutes } from './routes-method.js';
import { runRoutes } from './routes-runs.js';
import { trainingActivity } from './runs.js';
import { staticRoutes } from './static.js';
import { Workspace } from './workspace.js';

export interface StudioOptions {
  /** the studio's folder (uploads, datasets, runs, evaluations, exports, feedback) */
  dir: string;
  /** how to start `shitate` for jobs (training, evaluation, estimate, merge, export) */
  cli: CliCommand;
  /** the CLI registry's command names */
  commands: readonly string[];
  version: string;
  /** project folder of assistants, knowledge bases and memory (default: SHITATE_HOME, else ./.shitate) */
  home?: string;
  /** more folders to look for models in */
  models?: string[];
  /** when set, every request needs it (bound off loopback) */
  token?: string | null;
  /** accept only loopback host names (default true) */
  loopbackOnly?: boolean;
  lang?: Lang;
  log?: (line: string) => void;
}

export interface Studio {
  handler: (req: Request) => Promise<Response>;
  ctx: StudioContext;
  /** closes the playground's model; running jobs keep running (see stopJobs) */
  close(): Promise<void>;
}

export function createStudio(o: StudioOptions): Studio {
  const log = o.log ?? (() => undefined);
  const ctx: StudioContext = {
    ws: new Workspace(o.dir), cli: o.cli, cwd: process.cwd(), commands: o.commands, home: o.home ?? projectHome(), modelRoots: defaultModelRoots(o.models ?? []),
    lang: o.lang ?? 'en', exits: new Map(), log, activity: [],
  };
  ctx.activity.push(trainingActivity(ctx), evalActivity(ctx), exportActivity(ctx));
  const playground = new Playground(ctx);
  const gate = { token: o.token ?? null, loopbackOnly: o.loopbackOnly ?? true };
  const app = new Hono();
  app.use('*', async (c, next) => {
    const t0 = performance.now();
    const g = checkRequest(c.req.raw, gate);
    if (!g.ok) return g.response;
    await next();
    // polling GETs would flood the terminal: writes and failures only (the path, never a query or body)
    if (c.req.method !== 'GET' || c.res.status >= 400) log(`${c.req.method} ${new URL(c.req.url).pathname} ${c.res.status} ${Math.round(performance.now() - t0)}ms`);
  });
  staticRoutes(app, o.version);
  app.get('/api/info', () => Response.json({
    version: o.version, lang: ctx.lang, workspace: ctx.ws.dir, home: ctx.home, user: process.env.SHITATE_USER ?? os.userInfo().username,
    commands: ctx.commands, export: exportOptions(ctx), active: activeJobs(ctx), modelRoots: ctx.modelRoots,
  }));
  dataRoutes(app, ctx);
  methodRoutes(app, ctx);
  runRoutes(app, ctx);
  evalRoutes(app, ctx);
  playgroundRoutes(app, ctx, playground);
  assistantRoutes(app, ctx);
  exportRoutes(app, ctx);
  app.notFound((c) => errorJson(new StudioError(404, 'unknown_url', `no such page or API endpoint: ${c.req.method} ${new URL(c.req.url).pathname}`,
    'the API is described in docs/studio-api.md')));
  app.onError((err) => {
    const e = toStudioError(err);
    if (e.status >= 500) log(`error: ${err.stack ?? err.message}`);
    return errorJson(e);
  });
  return { handler: async (req) => app.fetch(req), ctx, close: () => playground.close() };
}
