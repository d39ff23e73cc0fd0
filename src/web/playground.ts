// The Playground: chats go through the same OpenAI-compatible handler and engine as `shitate serve` (one
// base model open at a time, each run's adapter served under the run's id), streamed to the page; 👍/👎 on an
// answer is saved as preference data in TRL's KTO format (prompt messages, completion, label).
import fs from 'node:fs';
import path from 'node:path';
import type { Hono } from 'hono';
import { openModel } from '../generate/index.js';
import { writeFileAtomic } from '../io/atomic.js';
import { createHandler, Engine, type Handler } from '../serve/index.js';
import type { StudioContext } from './context.js';
import { badField, StudioError } from './errors.js';
import { optBool, optNum, optStr, readBodyJson, str, type Body } from './fields.js';
import { checkModelDir } from './models.js';
import { summarizeRun } from './runs.js';

export const BASE_ID = 'base';

interface Open {
  dir: string;
  engine: Engine;
  handler: Handler;
  /** adapter file mtime per served run id: a run that trained further is loaded again */
  adapters: Map<string, number>;
}

export class Playground {
  private open: Open | null = null;

  constructor(private readonly ctx: StudioContext) {}

  /** The engine for this base model (the previous one is closed: one model in memory at a time). */
  private async engineFor(dir: string): Promise<Open> {
    if (this.open?.dir === dir) return this.open;
    if (this.open) await this.open.engine.close();
    this.open = null;
    const engine = new Engine(openModel(dir), { baseId: BASE_ID, limits: { maxConcurrent: 4, maxQueue: 16 } });
    this.open = { dir, engine, handler: createHandler(engine, { admin: false }), adapters: new Map() };
    this.ctx.log(`playground: opened ${dir}`);
    return this.open;
  }

  /** Serves the run's current adapter under the run's id. */
  private ensureAdapter(o: Open, runId: string): void {
    const run = summarizeRun(this.ctx, runId);
    if (!run.adapter) throw new StudioError(409, 'no_adapter', `training run "${run.name}" has no adapter yet`, 'wait for its first checkpoint, or pick another run');
    if (path.resolve(run.model) !== o.dir) {
      throw badField('run', `a run of the chosen model (${path.basename(o.dir)})`, run.model, 'pick the run\'s own base model, or another run');
    }
    const mtime = fs.statSync(path.join(run.adapter, 'adapter_model.safetensors')).mtimeMs;
    if (o.adapters.get(runId) === mtime) return;
    if (o.adapters.has(runId)) o.engine.removeAdapter(runId);
    o.engine.addAdapter(runId, run.adapter);
    o.adapters.set(runId, mtime);
  }

  /** One chat turn, streamed as OpenAI chat.completion.chunk events (or a JSON error). */
  async chat(b: Body, signal: AbortSignal): Promise<Response> {
    const o = await this.engineFor(checkModelDir(str(b, 'model')));
    const run = optStr(b, 'run');
    if (run) this.ensureAdapter(o, run);
    const sampling: Record<string, unknown> = {};
    for (const k of ['temperature', 'top_p', 'top_k', 'min_p', 'repetition_penalty', 'seed', 'max_tokens']) if (b[k] !== undefined && b[k] !== null) sampling[k] = b[k];
    const req = new Request('http://studio/v1/chat/completions', {
      method: 'POST', signal, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: run ?? BASE_ID, messages: b.messages, stream: true, stream_options: { include_usage: true }, ...sampling }),
    });
    return o.handler(req);
  }

  async close(): Promise<void> {
    if (this.open) await this.open.engine.close();
    this.open = null;
  }
}

interface Turn {
  role: string;
  content: string;
}

function turns(v: unknown, field: string): Turn[] {
  if (!Array.isArray(v) || v.length === 0 || v.some((m) => !m || typeof m !== 'object' || typeof (m as Turn).role !== 'string' || typeof (m as Turn).content !== 'string')) {
    throw badField(field, 'a non-empty list of {"role", "content"} messages', v);
  }
  return (v as Turn[]).map((m) => ({ role: m.role, content: m.content }));
}

const feedbackFile = (ctx: StudioContext) => path.join(ctx.ws.kindDir('feedback'), 'preferences.jsonl');
const feedbackMeta = (ctx: StudioContext) => path.join(ctx.ws.kindDir('feedback'), 'preferences.meta.jsonl');

function appendLine(file: string, line: string): void {
  const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  writeFileAtomic(file, before + line + '\n'); // rewritten whole: a crash never leaves half a line
}

/** One 👍/👎, as TRL's unpaired preference (KTO) format in conversational form; who and how in a side file. */
export function saveFeedback(ctx: StudioContext, b: Body): { count: number; file: string } {
  const prompt = turns(b.prompt, 'prompt');
  if (prompt.at(-1)!.role === 'assistant') throw badField('prompt', 'messages ending with the user turn that was answered', prompt.at(-1)!.role);
  const completion = str(b, 'completion');
  if (typeof b.label !== 'boolean') throw badField('label', 'true (👍) or false (👎)', b.label);
  appendLine(feedbackFile(ctx), JSON.stringify({ prompt, completion: [{ role: 'assistant', content: completion }], label: b.label }));
  appendLine(feedbackMeta(ctx), JSON.stringify({
    time: new Date().toISOString(), model: optStr(b, 'model'), run: optStr(b, 'run'), label: b.label,
    sampling: { temperature: optNum(b, 'temperature', 0, 100), seed: optNum(b, 'seed', 0, 2 ** 53, true) }, streamed: optBool(b, 'streamed', true),
  }));
  return { count: countLines(feedbackFile(ctx)), file: feedbackFile(ctx) };
}

function countLines(file: string): number {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).length : 0;
}

export function playgroundRoutes(app: Hono, ctx: StudioContext, pg: Playground): void {
  app.post('/api/chat', async (c) => pg.chat(await readBodyJson(c.req.raw), c.req.raw.signal));
  app.post('/api/feedback', async (c) => Response.json(saveFeedback(ctx, await readBodyJson(c.req.raw)), { status: 201 }));
  app.get('/api/feedback', () => {
    const file = feedbackFile(ctx);
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()) : [];
    const labels = lines.map((l) => (JSON.parse(l) as { label: boolean }).label);
    return Response.json({ file, count: lines.length, up: labels.filter(Boolean).length, down: labels.filter((l) => !l).length });
  });
}
