// HTTP routes of the Method page: the local model picker with licence verdicts, the method advisor (the
// same ranking `shitate advise` prints) and `shitate estimate --json` for the chosen model and settings.
import type { Hono } from 'hono';
import { buildAdvice } from '../catalog/advice.js';
import { PURPOSES, type Purpose } from '../catalog/gate.js';
import { toInput } from '../cli/advise.js';
import { requestLang, type StudioContext } from './context.js';
import { badField, StudioError } from './errors.js';
import { optNum, optStr, readBodyJson, str, type Body } from './fields.js';
import { errorInLog, runCli } from './jobs.js';
import { describeModel, listLocalModels, checkModelDir } from './models.js';

function purposeOf(raw: string | null | undefined): Purpose | null {
  if (!raw || raw === 'none') return null;
  if (!(PURPOSES as readonly string[]).includes(raw)) throw badField('purpose', `one of ${PURPOSES.join(', ')} or none`, raw);
  return raw as Purpose;
}

/** The advisor's answers as the CLI's flags take them (strings), defaults for what the page left out. */
function adviceAnswers(b: Body): Record<string, string> {
  const a: Record<string, string> = { goal: 'style', examples: '0', confidential: 'yes', budget: 'none', hardware: 'cpu', skill: 'intermediate', purpose: 'commercial' };
  for (const k of ['goal', 'examples', 'confidential', 'budget', 'hardware', 'vram', 'skill', 'purpose', 'japanese']) {
    const v = b[k];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v === 'boolean') a[k] = v ? 'yes' : 'no';
    else if (typeof v === 'string' || typeof v === 'number') a[k] = String(v).trim().toLowerCase();
    else throw badField(k, 'a string, number or boolean', v);
  }
  return a;
}

async function estimate(ctx: StudioContext, b: Body, signal: AbortSignal): Promise<unknown> {
  const model = checkModelDir(str(b, 'model'));
  const method = optStr(b, 'method') ?? 'lora';
  if (!['lora', 'qlora', 'full'].includes(method)) throw badField('method', 'lora, qlora or full', method);
  const precision = optStr(b, 'precision') ?? 'fp32';
  if (precision !== 'fp32' && precision !== 'bf16') throw badField('precision', 'fp32 or bf16', precision);
  const seq = optNum(b, 'seq', 2, 1 << 20, true) ?? 1024;
  const batch = optNum(b, 'batch', 1, 4096, true) ?? 4;
  const rank = optNum(b, 'rank', 1, 4096, true) ?? 8;
  const tokens = optNum(b, 'tokens', 1, 1e13, true) ?? 1_000_000;
  const args = ['estimate', '--model', model, '--method', method, '--precision', precision, '--seq', String(seq), '--batch', String(batch),
    '--rank', String(rank), '--tokens', String(tokens), '--json'];
  const r = await runCli(ctx.cli, args, { cwd: ctx.cwd, timeoutMs: 180_000, signal });
  if (r.code !== 0) {
    const err = errorInLog(r.stderr);
    throw new StudioError(err ? 400 : 500, (err?.code ?? 'E_ESTIMATE').toLowerCase(), err?.message ?? 'shitate estimate did not finish', err?.hint ?? 'run `shitate estimate` in a terminal to see why');
  }
  return { command: `shitate ${args.join(' ')}`, ...(JSON.parse(r.stdout) as Record<string, unknown>) };
}

export function methodRoutes(app: Hono, ctx: StudioContext): void {
  app.get('/api/models', (c) => {
    const lang = requestLang(c.req.raw, ctx.lang);
    const purpose = purposeOf(c.req.query('purpose'));
    const extra = c.req.query('path');
    const models = listLocalModels(ctx.modelRoots, purpose, lang);
    if (extra && !models.some((m) => m.path === extra)) models.push(describeModel(extra, purpose, lang));
    return Response.json({ models, roots: ctx.modelRoots });
  });
  app.post('/api/advise', async (c) => {
    const b = await readBodyJson(c.req.raw);
    const lang = requestLang(c.req.raw, ctx.lang);
    return Response.json({ advice: buildAdvice(toInput(adviceAnswers(b), lang)) });
  });
  app.post('/api/estimate', async (c) => Response.json({ estimate: await estimate(ctx, await readBodyJson(c.req.raw), c.req.raw.signal) }));
}
