// GGUF export of a random SmolLM2-135M-shaped checkpoint: time and peak RSS per --quant preset, then decode
// speed of the q4_k_m file in llama.cpp (node-llama-cpp) against shitate's own float32 decode, same machine,
// same run, same threads. Run: npm run bench:export [-- --layers 4 --new 64 --threads 2]   (or BENCH_<FLAG> env)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomIds } from './lib/checkpoint.js';
import { CACHE_DIR, fmt, getNum, mib, parseBenchFlags, printTable, type Json } from './lib/harness.js';
import { exportableCheckpoint, exportWorker } from './lib/llama-race.js';
import { loadModelConfig } from '../src/models/index.js';

const USAGE = `bench/export.ts: GGUF export time and peak RSS per quant, and q4_k_m decode in llama.cpp vs shitate float32

  --threads N   threads for both decoders (default 2)
  --layers N    layers of the random SmolLM2-135M-shaped model (default 30)
  --prompt N    prompt tokens for the decode race (default 32)
  --new N       new tokens, greedy (default 64)
  --quants Q,.. presets to export (default f16,bf16,q8_0,q4_k_m)`;

const flags = parseBenchFlags(process.argv.slice(2), { nums: { threads: 2, layers: 30, prompt: 32, new: 64 }, strs: ['quants'] }, USAGE);
const { threads, layers } = flags.num;
const quants = (flags.str.quants ?? 'f16,bf16,q8_0,q4_k_m').split(',');

function worker(args: string[]): Json {
  return exportWorker(args, threads);
}

const dir = exportableCheckpoint(layers);
const cfg = loadModelConfig(dir);
const outDir = path.join(CACHE_DIR, 'export');
fs.mkdirSync(outDir, { recursive: true });
console.log(`bench:export  random SmolLM2-135M-shaped checkpoint (bf16 safetensors): ${cfg.numLayers} layers, C ${cfg.hiddenSize}, V ${cfg.vocabSize}; ${threads} threads`);
// llama.cpp's threads spin while they wait for each other: on a machine busy with other work, more than one
// thread can make it slower by orders of magnitude, which the load average explains
console.log(`load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores`);

const rows: string[][] = [];
for (const q of quants) {
  const r = worker(['export', dir, q, path.join(outDir, `smollm2-${q}.gguf`)]);
  rows.push([q, fmt(getNum(r, 'bytes') / 1e6), fmt(getNum(r, 'seconds')), mib(getNum(r, 'maxRssKiB')), String(getNum(r, 'notes'))]);
}
printTable(['quant', 'file MB', 'export s', 'peak RSS', 'fallback notes'], rows);

if (quants.includes('q4_k_m')) {
  const prompt = randomIds(flags.num.prompt, cfg.vocabSize, 7).join(',');
  const n = String(flags.num.new);
  const llama = worker(['decode-llama', path.join(outDir, 'smollm2-q4_k_m.gguf'), prompt, n, String(threads)]);
  const ours = worker(['decode-shitate', dir, prompt, n]);
  const [a, b] = [getNum(llama, 'decodeTokPerSec'), getNum(ours, 'decodeTokPerSec')];
  printTable(['decoder', 'decode tok/s'], [['llama.cpp q4_k_m', fmt(a)], ['shitate float32', fmt(b)]]);
  console.log(`ratio llama.cpp q4_k_m / shitate float32: ${fmt(a / b, 2)}x`);
}
