// The batched decode step of continuous batching without the server around it: B generations of one model, each
// with its own KV cache (and, with --adapters, a third on each of two LoRA adapters), decoded together; prints
// the time per token against B = 1 measured in the same run, and the decode GEMM's share and GFLOP/s.
// Run: npm run bench:batch-decode [-- --model models/shitate-mini --rows 1,4,16,32 --steps 40]
import { openModel } from '../src/generate/index.js';
import { kernels } from '../src/kernels/index.js';
import { attachLora, DEFAULT_LORA } from '../src/lora/index.js';
import { KVCache } from '../src/models/kv-cache.js';
import { rowDecoder, type DecodeRow } from '../src/models/decode-rows.js';
import { noGrad } from '../src/tensor/index.js';
import { fmt, parseBenchFlags, printTable } from './lib/harness.js';
import { bundledModelDir } from '../src/demo/paths.js';

const USAGE = `bench/batch-decode.ts: one decode step for B generations at once vs one at a time (same run)

  --model DIR    a shared-decoder model (llama, mistral, qwen2, qwen3, smollm3, granite); default the bundled model
  --rows LIST    batch sizes, comma-separated (default 1,4,16,32; 1 is always measured: the ratios are against it)
  --steps N      timed steps per batch size (default 40)
  --context N    prompt tokens already in each cache (default 32)
  --adapters     two random LoRA adapters (r 8, every linear): rows go base / first / second in turn
  --weights F    f32 (default), bf16 or int8 (serve --weights bf16|int8: gemmRowsBf16 / gemmRowsI8 over those rows)`;

const flags = parseBenchFlags(process.argv.slice(2), { nums: { steps: 40, context: 32 }, strs: ['model', 'rows', 'weights'], bools: ['adapters'] }, USAGE);
const weights = flags.str.weights ?? 'f32';
if (weights !== 'f32' && weights !== 'bf16' && weights !== 'int8') {
  console.error(`--weights takes f32, bf16 or int8 (got ${weights})\n\n${USAGE}`);
  process.exit(2);
}
const m = openModel(flags.str.model ?? bundledModelDir(), { weights });
const cfg = m.model.config;
const dec = rowDecoder(m.model);
if (!dec) throw new Error(`${flags.str.model}: no batched decode for this model (a family other than the shared decoder)`);

// adapter sets: attach one, record its layers, detach; a row names the set it decodes under
const sets: (DecodeRow['adapters'])[] = [null];
if (flags.bool.adapters) {
  for (const seed of [1, 2]) {
    const set = attachLora(m.model, { ...DEFAULT_LORA, r: 8, alpha: 16, dropout: 0 }, seed);
    sets.push(dec.attached());
    set.detach();
  }
}

// time inside gemmRows (and gemmRowsBf16, gemmRowsI8), wrapped for this run only
const K = kernels();
const gemmRows = K.gemmRows.bind(K);
let gemmMs = 0;
let gemmFlop = 0;
K.gemmRows = (c, a, w, M, N, Kd, acc) => {
  const t = performance.now();
  gemmRows(c, a, w, M, N, Kd, acc);
  gemmMs += performance.now() - t;
  gemmFlop += 2 * M * N * Kd;
};
const gemmRowsI8 = K.gemmRowsI8.bind(K);
K.gemmRowsI8 = (c, a, q, sc, M, N, Kd, acc) => {
  const t = performance.now();
  gemmRowsI8(c, a, q, sc, M, N, Kd, acc);
  gemmMs += performance.now() - t;
  gemmFlop += 2 * M * N * Kd;
};

const gemmRowsBf16 = K.gemmRowsBf16.bind(K);
K.gemmRowsBf16 = (c, a, w, M, N, Kd, acc) => {
  const t = performance.now();
  gemmRowsBf16(c, a, w, M, N, Kd, acc);
  gemmMs += performance.now() - t;
  gemmFlop += 2 * M * N * Kd;
};

const prompt = Int32Array.from({ length: flags.num.context }, (_, i) => 10 + i);
function measure(B: number): { usPerToken: number; gemmShare: number; gflops: number } {
  const rows: DecodeRow[] = Array.from({ length: B }, (_, b) => {
    const cache = new KVCache(cfg.numLayers, 1, prompt.length + flags.num.steps + 16, cfg.numKvHeads, cfg.headDim);
    noGrad(() => m.model.forward({ ids: prompt, batch: 1, seqLen: prompt.length, cache, logits: 'last' }));
    return { ids: [20 + b], cache, adapters: sets[b % sets.length] };
  });
  for (let i = 0; i < 4; i++) noGrad(() => dec!.step(rows));
  gemmMs = 0;
  gemmFlop = 0;
  const t0 = performance.now();
  for (let i = 0; i < flags.num.steps; i++) noGrad(() => dec!.step(rows));
  const ms = (performance.now() - t0) / flags.num.steps;
  return { usPerToken: (ms * 1000) / B, gemmShare: gemmMs / flags.num.steps / ms, gflops: gemmFlop / (gemmMs * 1e6) };
}

const sizes = [...new Set([1, ...(flags.str.rows ?? '1,4,16,32').split(',').map(Number).filter((n) => n >= 1)])];
const results = sizes.map((B) => ({ B, ...measure(B) }));
const one = results[0].usPerToken;
console.log(`bench:batch-decode  ${flags.str.model ?? 'bundled shitate-mini'}: ${cfg.numLayers} layers, C ${cfg.hiddenSize}, V ${cfg.vocabSize}; ${flags.num.context} tokens in each cache${flags.bool.adapters ? '; rows on base / two adapters' : ''}\n`);
printTable(['rows', 'µs/token', 'tokens/s vs 1 row', 'gemmRows share', 'gemmRows GFLOP/s'],
  results.map((r) => [String(r.B), fmt(r.usPerToken, 0), `${fmt(one / r.usPerToken, 2)}x`, `${fmt(100 * r.gemmShare, 0)}%`, fmt(r.gflops, 1)]));
