// Load test of `shitate serve` on loopback: N concurrent streaming clients (the official openai client) over
// the base model and two adapters; reports throughput, p50/p99 latency and time to first token, health-check
// latency under load, and checks every reply against the same seeded generation run directly in this process.
// Run: npm run bench:serve [-- --clients 32 --requests 2 --tokens 32]   (flags also read from BENCH_<FLAG> env)
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import OpenAI from 'openai';
import { chatPrompt, generateText, openModel } from '../src/generate/index.js';
import { loadAdapter } from '../src/lora/index.js';
import { WEIGHT_FORMATS, type WeightFormat } from '../src/tensor/index.js';
import { KV_CACHE_FORMATS, kvCacheFormat, type KvCacheFormat } from '../src/models/index.js';
import { fmt, parseBenchFlags, printTable } from './lib/harness.js';
import { exportableCheckpoint } from './lib/llama-race.js';
import { makeAdapter, serveModelDir } from '../test/serve/fixtures.js';

const USAGE = `bench/serve.ts: concurrent streaming clients against \`shitate serve\` on 127.0.0.1

  --clients N        concurrent clients, each streaming its requests one after another (default 32, at most 256)
  --requests N       requests per client (default 2, at most 100)
  --tokens N         max_tokens of each request (default 32)
  --max-concurrent N server: generations running at once, decoded in one batched step (default 16)
  --max-queue N      server: requests that may wait (default 64; keep clients <= max-concurrent + max-queue)
  --timeout S        give up after S seconds (default 300)
  --model DIR        a local Hugging Face folder instead of the tiny test model (two random adapters are made for it)
  --smollm2          a random checkpoint of SmolLM2-135M's shape (30 layers, C 576, V 49152) with shitate-mini's
                     tokenizer, made once in bench/.cache (the size at which batching pays: decode reads 270 MB of
                     bf16 weights per step)
  --weights F        server and direct generation: f32 (default), bf16 or int8 (serve --weights F)
  --kv-cache F       server and direct generation: auto (default: bf16 with bf16 or int8 weights), f32 or bf16

  BENCH_SERVER_PROF=DIR   the server runs with node --cpu-prof into DIR, and its log is shown`;

const SELF = fileURLToPath(import.meta.url);

// the server side: this file re-run as a child, so the clients do not share the server's event loop
if (process.argv[2] === '--child-server') {
  const { run } = await import('../src/cli/main.js');
  process.exitCode = await run(['serve', ...process.argv.slice(3)]);
} else await main();

interface Planned { client: number; index: number; model: string; seed: number; content: string }
interface Outcome { text: string; tokens: number; latencyMs: number; ttftMs: number; model: string }

/** user + system CPU seconds of a process so far (Linux /proc), or null where that cannot be read. */
function processCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // after "pid (comm) ": state is field 3
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    return ticks / 100; // USER_HZ, the unit of /proc's CPU times: 100 on every Linux architecture node runs on

  } catch {
    return null;
  }
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** The replies the server must give: the same seeded generations, run directly (adapters attached unfused). */
async function expected(dir: string, adapters: Record<string, string | null>, plan: Planned[], tokens: number, weights: WeightFormat,
  kvCache: KvCacheFormat | 'auto') {
  const m = openModel(dir, { weights, kvCache });
  const out = new Map<Planned, { text: string; tokens: number }>();
  let generated = 0;
  const t0 = performance.now();
  for (const [name, adapterDir] of Object.entries(adapters)) {
    const set = adapterDir ? loadAdapter(adapterDir, m.model) : null;
    for (const p of plan.filter((q) => q.model === name)) {
      const ids = chatPrompt(m.tokenizer, [{ role: 'user', content: p.content }]);
      const r = await generateText(m, ids, { maxNewTokens: tokens, temperature: 1, seed: p.seed });
      out.set(p, { text: r.text, tokens: r.usage.completionTokens });
      generated += r.usage.completionTokens;
    }
    set?.detach();
  }
  return { out, tokensPerSec: (generated * 1000) / (performance.now() - t0) };
}

function startServer(dir: string, adapters: Record<string, string | null>, flags: Record<string, number>, weights: WeightFormat,
  kvCache: KvCacheFormat | 'auto'): Promise<{ child: ChildProcess; url: string }> {
  const args = [SELF, '--child-server', '--model', dir, '--base-name', 'base', '--host', '127.0.0.1', '--port', '0',
    '--max-concurrent', String(flags['max-concurrent']), '--max-queue', String(flags['max-queue']), '--weights', weights, '--kv-cache', kvCache];
  for (const [name, a] of Object.entries(adapters)) if (a) args.push('--adapter', `${name}=${a}`);
  const prof = process.env.BENCH_SERVER_PROF;
  const child = spawn(process.execPath, [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), '--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SHITATE_API_KEYS: '', SHITATE_ADMIN_KEY: '' } });
  let err = '';
  child.stderr?.on('data', (b: Buffer) => {
    err = (err + b.toString('utf8')).slice(-4000);
    if (prof) process.stderr.write(b);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString('utf8');
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('close', (code) => reject(new Error(`server exited with ${code} before listening:\n${err}`)));
  });
}

async function stream(client: OpenAI, p: Planned, tokens: number): Promise<Outcome> {
  const t0 = performance.now();
  let ttft = NaN;
  let text = '';
  let used = -1;
  let model = '';
  const s = await client.chat.completions.create({
    model: p.model, messages: [{ role: 'user', content: p.content }], max_tokens: tokens, temperature: 1, seed: p.seed,
    stream: true, stream_options: { include_usage: true },
  });
  for await (const chunk of s) {
    model = chunk.model;
    const piece = chunk.choices[0]?.delta.content ?? '';
    if (piece && Number.isNaN(ttft)) ttft = performance.now() - t0;
    text += piece;
    if (chunk.usage) used = chunk.usage.completion_tokens;
  }
  return { text, tokens: used, latencyMs: performance.now() - t0, ttftMs: ttft, model };
}

/** GET /health every 20 ms from a worker thread (its own event loop, so the clients' work in this thread
 *  does not delay it) until stopped: how long a health check waits while the model is busy. */
function probeHealth(url: string): { stop: () => Promise<number[]> } {
  const code = `const { parentPort, workerData } = require('node:worker_threads');
    let on = true;
    const times = [];
    parentPort.on('message', () => { on = false; });
    (async () => {
      while (on && times.length < 10000) {
        const t0 = performance.now();
        const r = await fetch(workerData + '/health');
        await r.arrayBuffer();
        times.push(performance.now() - t0);
        await new Promise((res) => setTimeout(res, 20));
      }
      parentPort.postMessage(times);
    })();`;
  const worker = new Worker(code, { eval: true, workerData: url });
  const done = new Promise<number[]>((resolve, reject) => {
    worker.once('message', (times: number[]) => resolve(times));
    worker.once('error', reject);
  });
  return {
    stop: async () => {
      worker.postMessage('stop');
      const times = await done;
      await worker.terminate();
      return times;
    },
  };
}

async function main(): Promise<void> {
  const flags = parseBenchFlags(process.argv.slice(2), {
    nums: { clients: 32, requests: 2, tokens: 32, 'max-concurrent': 16, 'max-queue': 64, timeout: 300 },
    strs: ['model', 'weights', 'kv-cache'],
    bools: ['smollm2'],
  }, USAGE);
  const kvCache = (flags.str['kv-cache'] ?? 'auto') as KvCacheFormat | 'auto';
  if (![...KV_CACHE_FORMATS, 'auto'].includes(kvCache)) {
    console.error(`--kv-cache takes ${KV_CACHE_FORMATS.join(', ')} or auto (got ${kvCache})\n\n${USAGE}`);
    process.exit(2);
  }
  const weights = (flags.str.weights ?? 'f32') as WeightFormat;
  if (!WEIGHT_FORMATS.includes(weights)) {
    console.error(`--weights takes ${WEIGHT_FORMATS.join(', ')} (got ${weights})\n\n${USAGE}`);
    process.exit(2);
  }
  const { clients, requests, tokens, timeout } = flags.num;
  if (clients < 1 || clients > 256 || requests < 1 || requests > 100 || tokens < 1) {
    console.error(`need 1 <= --clients <= 256, 1 <= --requests <= 100, --tokens >= 1\n\n${USAGE}`);
    process.exit(2);
  }
  const timer = setTimeout(() => {
    console.error(`bench:serve gave up after ${timeout} s`);
    process.exit(1);
  }, timeout * 1000);
  timer.unref();

  if (flags.bool.smollm2 && flags.str.model) {
    console.error(`give --model or --smollm2, not both\n\n${USAGE}`);
    process.exit(2);
  }
  const dir = flags.bool.smollm2 ? exportableCheckpoint(undefined) : flags.str.model ?? serveModelDir();
  const label = flags.bool.smollm2 ? 'random SmolLM2-135M shape' : flags.str.model ? path.relative(process.cwd(), dir) || dir : 'tiny test model';
  const adapters: Record<string, string | null> = { base: null, alpha: makeAdapter(dir, 1), beta: makeAdapter(dir, 2) };
  const names = Object.keys(adapters);
  const plan: Planned[] = [];
  for (let c = 0; c < clients; c++) {
    for (let r = 0; r < requests; r++) {
      plan.push({ client: c, index: r, model: names[(c + r) % names.length], seed: 1000 + c * requests + r, content: `Client ${c}, question ${r}: what is the return policy?` });
    }
  }
  console.log(`bench:serve  ${label}: ${clients} clients x ${requests} streaming ` +
    `requests, max_tokens ${tokens}, temperature 1 with a seed per request, models ${names.join('/')}`);

  const ref = await expected(dir, adapters, plan, tokens, weights, kvCache);
  console.log(`weights ${weights}, KV cache ${kvCacheFormat()}`);
  const { child, url } = await startServer(dir, adapters, flags.num, weights, kvCache);
  try {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const health = probeHealth(url);
    const results = new Map<Planned, Outcome | Error>();
    const serverCpu0 = processCpuSeconds(child.pid);
    const clientCpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: clients }, async (_, c) => {
      for (const p of plan.filter((q) => q.client === c)) {
        results.set(p, await stream(client, p, tokens).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))));
      }
    }));
    const wallMs = performance.now() - t0;
    const serverCpu1 = processCpuSeconds(child.pid);
    const clientCpu = process.cpuUsage(clientCpu0);
    const healthMs = await health.stop();
    const stats = (await (await fetch(`${url}/health`)).json()) as { completed: number; aborted: number; failed: number; rejected: number };
    report(plan, results, ref, wallMs, healthMs);
    if (serverCpu0 !== null && serverCpu1 !== null) {
      // where the cores went during the load: the server's own time and this process's (the clients, the probe)
      const wall = wallMs / 1000;
      const server = serverCpu1 - serverCpu0;
      const mine = (clientCpu.user + clientCpu.system) / 1e6;
      const cores = os.availableParallelism();
      console.log(`CPU during the load (${fmt(wall, 2)} s wall, ${cores} cores): server ${fmt(server, 2)} s (${fmt((100 * server) / wall, 0)}% of one core), ` +
        `clients and health probe ${fmt(mine, 2)} s (${fmt((100 * mine) / wall, 0)}%)`);
    }
    console.log(`server: ${stats.completed} completed, ${stats.aborted} aborted, ${stats.failed} failed, ${stats.rejected} refused (429)`);
    if (stats.completed !== plan.length) process.exitCode = 1;
  } finally {
    child.kill('SIGTERM');
  }
}

function report(plan: Planned[], results: Map<Planned, Outcome | Error>, ref: Awaited<ReturnType<typeof expected>>, wallMs: number, healthMs: number[]): void {
  const ok: Outcome[] = [];
  const problems: string[] = [];
  for (const p of plan) {
    const r = results.get(p);
    const want = ref.out.get(p);
    const who = `client ${p.client} request ${p.index} (${p.model}, seed ${p.seed})`;
    if (!r) problems.push(`${who}: lost (no reply)`);
    else if (r instanceof Error) problems.push(`${who}: failed: ${r.message}`);
    else if (r.model !== p.model || r.text !== want?.text || r.tokens !== want?.tokens) {
      problems.push(`${who}: reply differs from its seeded generation (model ${r.model}, ${r.tokens} tokens vs ${want?.tokens})`);
    } else ok.push(r);
  }
  const tokensOut = ok.reduce((a, r) => a + r.tokens, 0);
  const served = (tokensOut * 1000) / wallMs;
  console.log('');
  printTable(['', 'value'], [
    ['requests ok / planned', `${ok.length} / ${plan.length}`],
    ['throughput (completion tokens/s)', fmt(served)],
    ['requests/s', fmt((ok.length * 1000) / wallMs, 2)],
    ['latency p50 / p99 (ms)', `${fmt(percentile(ok.map((r) => r.latencyMs), 50), 0)} / ${fmt(percentile(ok.map((r) => r.latencyMs), 99), 0)}`],
    ['first token p50 / p99 (ms)', `${fmt(percentile(ok.map((r) => r.ttftMs), 50), 0)} / ${fmt(percentile(ok.map((r) => r.ttftMs), 99), 0)}`],
    ['GET /health under load p50 / p99 / max (ms)', `${fmt(percentile(healthMs, 50))} / ${fmt(percentile(healthMs, 99))} / ${fmt(Math.max(...healthMs))}`],
    ['direct generation, one at a time (tokens/s)', fmt(ref.tokensPerSec)],
    ['served / direct', fmt(served / ref.tokensPerSec, 2)],
  ]);
  if (problems.length > 0) {
    console.log(`\n${problems.length} request(s) lost, failed or mixed up:`);
    for (const p of problems.slice(0, 20)) console.log(`  ${p}`);
    process.exitCode = 1;
  } else console.log(`\nevery reply equals its own seeded generation: nothing lost or mixed up`);
}
