// Training through the studio's API: real `shitate train` children on the bundled model. Settings checked
// before anything starts, a second training refused clearly, live events (snapshot, metrics, status) that
// resume after a reconnect, stop with a checkpoint, resume, and a run that survives a studio restart.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, MINI, makeStudio, prepareFaq, QUICK, readEvents, waitFor, type TestStudio } from './helpers.js';

let s: TestStudio;
let dataset: string;
beforeAll(async () => {
  s = makeStudio();
  dataset = await prepareFaq(s);
});
afterAll(() => s.close());

const start = (settings: Record<string, unknown>, name?: string, st: TestStudio = s) => st.req('POST', '/api/runs', { model: MINI, dataset, settings, name });
const runOf = async (id: string, st: TestStudio = s) => at<Record<string, unknown>>((await st.req('GET', `/api/runs/${id}`)).json, 'run');

describe('starting a run', () => {
  it('checks the settings with train\'s own rules before starting anything', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ learning_rate: -1 }, /^settings: learning_rate must be >= 0/],
      [{ lora_r: 'eight' }, /^settings: lora_r must be an integer/],
      [{ schedule: 'zigzag' }, /^settings: schedule must be one of cosine, linear, constant/],
      [{ learningrate: 1 }, /^settings\.learningrate: expected a training setting/],
      [{ out: '/tmp/x' }, /^settings\.out: expected a training setting/],
    ];
    for (const [settings, msg] of cases) {
      const r = await start(settings);
      expect(r.status, JSON.stringify(settings)).toBe(400);
      expect(at<string>(r.json, 'error.message')).toMatch(msg);
    }
    expect((await s.req('POST', '/api/runs', { model: '/no/model', dataset })).status).toBe(400);
    expect((await s.req('POST', '/api/runs', { model: MINI })).status).toBe(400);
    expect((await s.req('POST', '/api/runs', { model: MINI, dataset: 'data-nope' })).status).toBe(404);
    expect(at<unknown[]>((await s.req('GET', '/api/runs')).json, 'runs')).toHaveLength(0);
  });

  it('serves the settings schema the form is drawn from', async () => {
    const r = await s.req('GET', '/api/train/settings');
    const lr = at<{ key: string; default: unknown; type: string }[]>(r.json, 'settings').find((x) => x.key === 'learning_rate');
    expect(lr).toMatchObject({ type: 'number', default: 2e-4 });
  });
});

// real training processes on a shared 2-core machine: generous limits (nothing here asserts time)
describe('a run from start to resume', { timeout: 240_000 }, () => {
  let id: string;

  it('trains, refuses a second training clearly, streams its curve, and stops with a checkpoint', async () => {
    const r = await start({ ...QUICK, max_steps: 400, eval_every: 5 }, 'long');
    expect(r.status).toBe(201);
    id = at<string>(r.json, 'run.id');
    const second = await start(QUICK, 'second');
    expect(second.status).toBe(409);
    expect(at(second.json, 'error.code')).toBe('training_running');
    expect(at<string>(second.json, 'error.message')).toContain(id);
    expect(at<string>(second.json, 'error.hint')).toMatch(/stop it/);
    const events = await s.handler(new Request(`http://127.0.0.1/api/runs/${id}/events`));
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    const seen = await readEvents(events, (ev) => ev.filter((e) => e.event === 'metric' && e.data.type === 'step').length >= 3);
    expect(seen[0].event).toBe('snapshot');
    const steps = seen.filter((e) => e.event === 'metric' && e.data.type === 'step').map((e) => e.data.step as number);
    expect(steps.slice(0, 3)).toEqual([...steps.slice(0, 3)].sort((a, b) => a - b));
    expect(seen.some((e) => e.event === 'status' && e.data.status === 'running')).toBe(true);
    const stop = await s.req('POST', `/api/runs/${id}/stop`);
    expect(at(stop.json, 'run.status')).toBe('stopping');
    await s.ctx.exits.get(id);
    const run = await runOf(id);
    // the training process's own output says why, should it not have stopped cleanly
    const log = (): string => fs.readFileSync(path.join(run.dir as string, 'train.log'), 'utf8').slice(-3000);
    expect(run, `${JSON.stringify(run.error)}\n${run.status === 'stopped' ? '' : log()}`).toMatchObject({ status: 'stopped', resumable: true });
    expect(fs.existsSync(path.join(run.dir as string, 'checkpoints', 'last'))).toBe(true);
    expect((await s.req('POST', `/api/runs/${id}/stop`)).status).toBe(409);
  });

  it('picks up a reconnect where the client was (Last-Event-ID)', async () => {
    const first = await readEvents(await s.handler(new Request(`http://127.0.0.1/api/runs/${id}/events`)), (ev) => ev.length >= 2);
    const snap = first.find((e) => e.event === 'snapshot')!;
    const metrics = snap.data.metrics as unknown[];
    const again = await readEvents(await s.handler(new Request(`http://127.0.0.1/api/runs/${id}/events`, { headers: { 'last-event-id': snap.id! } })),
      (ev) => ev.some((e) => e.event === 'status'));
    expect(again.some((e) => e.event === 'snapshot' || e.event === 'metric')).toBe(false);
    const earlier = `${metrics.length - 2}-${(metrics[metrics.length - 3] as { time: string }).time}`;
    const resent = await readEvents(await s.handler(new Request(`http://127.0.0.1/api/runs/${id}/events`, { headers: { 'last-event-id': earlier } })),
      (ev) => ev.filter((e) => e.event === 'metric').length >= 2);
    expect(resent.filter((e) => e.event === 'metric').map((e) => e.data)).toEqual(metrics.slice(-2));
  });

  it('survives a studio restart: the new studio lists the run and resumes it', async () => {
    await s.close();
    s = makeStudio({ dir: s.dir, home: s.home });
    const runs = at<{ id: string; status: string; curve: unknown[] }[]>((await s.req('GET', '/api/runs')).json, 'runs');
    expect(runs.find((r) => r.id === id)).toMatchObject({ status: 'stopped' });
    expect(runs.find((r) => r.id === id)!.curve.length).toBeGreaterThan(0);
    const before = (await runOf(id)).progress as { step: number };
    const r = await s.req('POST', `/api/runs/${id}/resume`);
    expect(r.status).toBe(200);
    expect((await s.req('POST', `/api/runs/${id}/resume`)).status).toBe(409);
    await waitFor(async () => (((await runOf(id)).progress as { step: number } | null)?.step ?? 0) > before.step + 1, 60_000, 'steps after resume');
    expect((await s.req('DELETE', `/api/runs/${id}`)).status).toBe(409);
    await s.req('POST', `/api/runs/${id}/stop`);
    await s.ctx.exits.get(id);
    const run = await runOf(id);
    expect(run.launches as unknown[]).toHaveLength(2);
    expect(run.status).toBe('stopped');
    const steps = (run.metrics as { type: string; step: number }[]).filter((m) => m.type === 'step').map((m) => m.step);
    expect(steps).toEqual(steps.map((_, i) => i + 1)); // resumed where it stopped: no step twice, none missing
  });

  it('keeps following a run that another studio started (restart while training)', async () => {
    const r = await s.req('POST', `/api/runs/${id}/resume`);
    expect(r.status).toBe(200);
    const other = makeStudio({ dir: s.dir, home: s.home });
    await waitFor(async () => (await runOf(id, other)).status === 'running', 30_000, 'running in the other studio');
    expect((await start(QUICK, 'x', other)).status).toBe(409);
    expect((await other.req('POST', `/api/runs/${id}/stop`)).status).toBe(200);
    await s.ctx.exits.get(id);
    await waitFor(async () => (await runOf(id, other)).status === 'stopped', 30_000, 'stopped');
    await other.close();
  });
});

describe('finished runs', { timeout: 240_000 }, () => {
  let a: string;
  let b: string;
  it('completes a short run with its adapter, best checkpoint and resolved config', async () => {
    a = at<string>((await start(QUICK, 'lr 3e-3')).json, 'run.id');
    await s.ctx.exits.get(a);
    const run = await runOf(a);
    expect(run).toMatchObject({ status: 'completed', reason: 'completed', resumable: false, error: null });
    expect(fs.existsSync(path.join(run.adapter as string, 'adapter_model.safetensors'))).toBe(true);
    expect(run.config).toMatchObject({ learningRate: 0.003, maxSteps: 6 });
    expect(run.sources).toMatchObject({ learningRate: 'file', loraAlpha: 'default' });
    expect((await s.req('POST', `/api/runs/${a}/resume`)).status).toBe(409);
  });

  it('compares runs: curves and the settings that differ', async () => {
    b = at<string>((await start({ ...QUICK, learning_rate: 0.001, lora_r: 4 }, 'lr 1e-3')).json, 'run.id');
    await s.ctx.exits.get(b);
    const r = await s.req('GET', `/api/runs/compare?ids=${a},${b}`);
    expect(r.status).toBe(200);
    const diff = at<{ key: string; values: Record<string, unknown> }[]>(r.json, 'diff');
    expect(diff.map((d) => d.key)).toEqual(expect.arrayContaining(['learningRate', 'loraR']));
    expect(diff.find((d) => d.key === 'learningRate')!.values).toEqual({ [a]: 0.003, [b]: 0.001 });
    expect(at<unknown[]>(r.json, 'runs.0.train')).toHaveLength(6);
    expect((await s.req('GET', '/api/runs/compare?ids=')).status).toBe(400);
  });

  it('reports a run that failed with the command\'s own message, not a stack trace', async () => {
    const bad = path.join(s.dir, 'empty.jsonl');
    fs.writeFileSync(bad, '{"messages": [{"role": "user", "content": "hi"}]}\n');
    const r = await s.req('POST', '/api/runs', { model: MINI, data: bad, settings: QUICK });
    const id = at<string>(r.json, 'run.id');
    await s.ctx.exits.get(id);
    const run = await runOf(id);
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'E_DATA' });
    expect((run.error as { message: string }).message).toMatch(/no assistant message/);
    expect(JSON.stringify(run.error)).not.toMatch(/\n\s+at /);
    expect((await s.req('DELETE', `/api/runs/${id}`)).status).toBe(200);
    expect((await s.req('GET', `/api/runs/${id}`)).status).toBe(404);
  });
});
