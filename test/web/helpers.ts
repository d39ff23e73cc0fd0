// Test helpers for the studio: an in-process studio on a fresh folder whose jobs run the real CLI from
// source, JSON requests against its handler, and a reader for its server-sent events.
import fs from 'node:fs';
import path from 'node:path';
import { openModel } from '../../src/generate/index.js';
import { attachLora, DEFAULT_LORA, saveAdapter } from '../../src/lora/index.js';
import { createStudio, type Studio, type StudioOptions } from '../../src/web/index.js';
import { tempDir } from '../helpers/tiny-model.js';

export const ROOT = path.join(import.meta.dirname, '..', '..');
export const ENTRY = path.join(ROOT, 'test', 'cli', 'entry.ts');
export const MINI = path.join(ROOT, 'models', 'shitate-mini');
export const FAQ = path.join(ROOT, 'examples', 'faq');
export const CLI = { command: process.execPath, args: ['--import', 'tsx', ENTRY] };
export const ALL_COMMANDS = ['doctor', 'train', 'merge', 'generate', 'chat', 'eval', 'serve', 'data', 'estimate', 'advise', 'assistant', 'kb', 'memory', 'studio'];

export type Json = Record<string, unknown>;

/** A value inside parsed JSON by a dotted path ('run.progress.step', 'runs.0.id'), typed by the caller. */
export function at<T = unknown>(o: unknown, p: string): T {
  let v: unknown = o;
  for (const k of p.split('.')) {
    if (v === null || typeof v !== 'object') throw new Error(`no ${p} in ${JSON.stringify(o).slice(0, 300)}`);
    v = (v as Record<string, unknown>)[k];
  }
  return v as T;
}

export interface TestStudio extends Studio {
  dir: string;
  home: string;
  lines: string[];
  req(method: string, p: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: Json; res: Response }>;
}

export function makeStudio(o: Partial<StudioOptions> & { dir?: string } = {}): TestStudio {
  const dir = o.dir ?? tempDir('shitate-studio-');
  const home = o.home ?? path.join(dir, 'home');
  const lines: string[] = [];
  const s = createStudio({ cli: CLI, commands: ALL_COMMANDS, version: 'test', home, log: (l) => lines.push(l), ...o, dir });
  return {
    ...s, dir, home, lines,
    async req(method, p, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body instanceof Uint8Array) init.body = Buffer.from(body);
      else if (typeof body === 'string') init.body = body;
      else if (body !== undefined) {
        init.body = JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
      const res = await s.handler(new Request(`http://127.0.0.1:8765${p}`, init));
      const text = await res.clone().text();
      let json: Json = {};
      try {
        json = JSON.parse(text) as Json;
      } catch {
        json = { text };
      }
      return { status: res.status, json, res };
    },
  };
}

export async function upload(s: TestStudio, file: string, name = path.basename(file)): Promise<string> {
  const r = await s.req('POST', `/api/uploads?name=${encodeURIComponent(name)}`, new Uint8Array(fs.readFileSync(file)));
  if (r.status !== 201) throw new Error(`upload failed: ${JSON.stringify(r.json)}`);
  return at<string>(r.json, 'upload.id');
}

/** The FAQ prepared into a dataset; returns its id. */
export async function prepareFaq(s: TestStudio): Promise<string> {
  const id = await upload(s, path.join(FAQ, 'faq.csv'));
  const r = await s.req('POST', '/api/data/prepare', { uploads: [id], dedup: true, skip_invalid: true });
  if (r.status !== 201) throw new Error(`prepare failed: ${JSON.stringify(r.json)}`);
  return at<string>(r.json, 'dataset.id');
}

export interface SseMessage {
  event: string;
  id: string | null;
  data: Json;
}

/** Reads events from a text/event-stream Response until `until` says stop (or the time runs out). */
export async function readEvents(res: Response, until: (seen: SseMessage[]) => boolean, timeoutMs = 60_000): Promise<SseMessage[]> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  const seen: SseMessage[] = [];
  let buf = '';
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline && !until(seen)) {
      const r = await Promise.race([reader.read(), new Promise<null>((ok) => setTimeout(() => ok(null), 1000))]);
      if (r === null) continue;
      if (r.done) break;
      buf += dec.decode(r.value, { stream: true });
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const field = (k: string) => block.split('\n').filter((l) => l.startsWith(`${k}: `)).map((l) => l.slice(k.length + 2));
        const data = field('data');
        if (data.length) seen.push({ event: field('event')[0] ?? 'message', id: field('id')[0] ?? null, data: JSON.parse(data.join('\n')) as Json });
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return seen;
}

/** Polls until `f` returns a value (not undefined/false), or fails after `ms`. */
export async function waitFor<T>(f: () => Promise<T | undefined | false>, ms = 60_000, what = 'condition'): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Settings for a short, fast run on the bundled model. */
export const QUICK = { max_steps: 6, eval_every: 2, batch_tokens: 1024, max_seq_len: 256, learning_rate: 0.003, lora_r: 8 };

/**
 * A finished run without training: studio.json, a completed metrics.jsonl and a PEFT adapter whose B is
 * filled with noise (so the tuned model answers differently from the base). For tests of what comes after
 * training (evaluation, playground, export).
 */
export function fakeRun(s: TestStudio, dataset: { train: string; val: string | null }, seed = 1, overfit = false): string {
  const id = `run-20260101-000000-${String(seed).padStart(4, '0')}`;
  const dir = path.join(s.dir, 'runs', id);
  fs.mkdirSync(dir, { recursive: true });
  const { model } = openModel(MINI);
  const set = attachLora(model, { ...DEFAULT_LORA, r: 4, alpha: 8, dropout: 0 }, seed);
  let x = seed * 2654435761;
  for (const layer of set.layers.values()) {
    for (let i = 0; i < layer.B.data.length; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      layer.B.data[i] = ((x / 2 ** 32) * 2 - 1) * 0.2;
    }
  }
  saveAdapter(path.join(dir, 'adapter'), set, MINI);
  const t = '2026-01-01T00:00:00.000Z';
  let lines: Record<string, unknown>[] = [{ type: 'start', totalSteps: 2, stepsPerEpoch: 2, resumedAt: null, time: t },
    { type: 'step', step: 1, totalSteps: 2, epoch: 0.5, loss: 6, lr: 1e-3, gradNorm: 1, tokensPerSec: 100, etaSec: 1, time: t },
    { type: 'step', step: 2, totalSteps: 2, epoch: 1, loss: 5, lr: 0, gradNorm: 1, tokensPerSec: 100, etaSec: 0, time: t },
    { type: 'eval', step: 2, valLoss: 5.5, trainLoss: 5, bestValLoss: 5.5, improved: true, time: t },
    { type: 'done', reason: 'completed', step: 2, bestValLoss: 5.5, bestStep: 2, time: t }];
  if (overfit) lines = overfitting(t);
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ config: { model: MINI, learningRate: 0.01, loraR: 4, epochs: 3 }, sources: { learningRate: 'file' } }));
  fs.writeFileSync(path.join(dir, 'train.yaml'), `model: ${MINI}\ndata: ${dataset.train}\n`);
  fs.writeFileSync(path.join(dir, 'studio.json'), JSON.stringify({ id, name: `fake ${seed}`, createdAt: t, model: MINI, dataset: null, data: dataset.train,
    val: dataset.val, settings: {}, launches: [] }));
  return id;
}

/** Metrics of a run that over-fitted: training loss falls, validation loss rises after step 4, early stop. */
function overfitting(time: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [{ type: 'start', totalSteps: 20, stepsPerEpoch: 4, resumedAt: null, time }];
  for (let step = 1; step <= 16; step++) {
    out.push({ type: 'step', step, totalSteps: 20, epoch: step / 4, loss: 6 - step * 0.3, lr: 1e-2, gradNorm: 1, tokensPerSec: 100, etaSec: 1, time });
    if (step % 4 !== 0) continue;
    out.push({ type: 'eval', step, valLoss: 5 + (step - 4) * 0.1, trainLoss: 6 - step * 0.3, bestValLoss: 5, improved: step === 4, time });
    // the trainer warns once the gap has grown over three validations
    if (step === 12) out.push({ type: 'warning', message: 'validation loss (5.8000) is rising while training loss keeps falling (gap 0.8 -> 1.7 -> 2.6): the model is memorising the training set.', time });
  }
  out.push({ type: 'done', reason: 'early-stop', step: 16, bestValLoss: 5, bestStep: 4, time });
  return out;
}
