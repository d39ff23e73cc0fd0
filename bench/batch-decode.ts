// The batched decode step of continuous batching without the server around it: B generations of one model, each
// with its own KV cache (and, with --adapters, a third on each of two LoRA adapters), decoded together; prints
// the time per token against B = 1 measured in the same run, the decode GEMM's share and GFLOP/s, and where the
// largest batch's step goes, kernel by kernel.
// Run: npm run bench:batch-decode [-- --model models/shitate-mini --rows 1,4,16,32 --steps 40]
import { openModel } from '../src/generate/index.js';
import { kernels } from '../src/kernels/index.js';
import { attachLora, DEFAULT_LORA } from '../src/lora/index.js';
import { KVCache, kvCacheFormat } from '../src/models/kv-cache.js';
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
  --weights F    f32 (default), bf16 or int8 (serve --weights bf16|int8: gemmRowsBf16 / gemmRowsI8 over those rows)
  --kv-cache F   f32, bf16 or auto (default auto: bf16 with bf16 or int8 weights, else f32, as serve)`;

const flags = parseBenchFlags(process.argv.slice(2), { nums: { steps: 40, context: 32 }, strs: ['model', 'rows', 'weights', 'kv-cache'], bools: ['adapters'] }, USAGE);
const weights = flags.str.weights ?? 'f32';
if (weights !== 'f32' && weights !== 'bf16' && weights !== 'int8') {
  console.error(`--weights takes f32, bf16 or int8 (got ${weights})\n\n${USAGE}`);
  process.exit(2);
}
const kvFlag = flags.str['kv-cache'] ?? 'auto';
if (kvFlag !== 'f32' && kvFlag !== 'bf16' && kvFlag !== 'auto') {
  console.error(`--kv-cache takes f32, bf16 or auto (got ${kvFlag})\n\n${USAGE}`);
  process.exit(2);
}
const m = openModel(flags.str.model ?? bundledModelDir(), { weights, kvCache: kvFlag });
const kvCache = kvCacheFormat();
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

// time inside every kernel call, wrapped for this run only; the row GEMMs (gemmRows*, single and *Many, the LM head
// included) also count their multiply-adds
const K = kernels() as unknown as Record<string, unknown>;
const kernelMs = new Map<string, number>();
let gemmMs = 0;
let gemmFlop = 0;
const flopsOf: Record<string, (args: unknown[]) => number> = {
  gemmRows: (a) => 2 * (a[3] as number) * (a[4] as number) * (a[5] as number),
  gemmRowsBf16: (a) => 2 * (a[3] as number) * (a[4] as number) * (a[5] as number),
  gemmRowsI8: (a) => 2 * (a[4] as number) * (a[5] as number) * (a[6] as number),
  gemmRowsMany: (a) => manyFlops(a[3] as Int32Array, a[4] as number, a[5] as number, a[6] as number),
  gemmRowsBf16Many: (a) => manyFlops(a[3] as Int32Array, a[4] as number, a[5] as number, a[6] as number),
  gemmRowsI8Many: (a) => manyFlops(a[4] as Int32Array, a[5] as number, a[6] as number, a[7] as number),
};
function manyFlops(Ns: Int32Array, S: number, M: number, Kd: number): number {
  let n = 0;
  for (let s = 0; s < S; s++) n += Ns[s];
  return 2 * M * n * Kd;
}
for (const [name, f] of Object.entries(K)) {
  if (typeof f !== 'function' || name === 'lineOffset') continue;
  const fn = (f as (...args: unknown[]) => unknown).bind(K);
  const flops = flopsOf[name];
  K[name] = (...args: unknown[]) => {
    const t = performance.now();
    const out = fn(...args);
    const dt = performance.now() - t;
    kernelMs.set(name, (kernelMs.get(name) ?? 0) + dt);
    if (flops) {
      gemmMs += dt;
      gemmFlop += flops(args);
    }
    return out;
  };
}

const prompt = Int32Array.from({ length: flags.num.context }, (_, i) => 10 + i);
function measure(B: number): { usPerToken: number; gemmShare: number; gflops: number; ms: number; perStep: (readonly [string, number])[] } {
  const rows: DecodeRow[] = Array.from({ length: B }, (_, b) => {
    const cache = new KVCache(cfg.numLayers, 1, prompt.length + flags.num.steps + 16, cfg.numKvHeads, cfg.headDim);
    noGrad(() => m.model.forward({ ids: prompt, batch: 1, seqLen: prompt.length, cache, logits: 'last' }));
    return { ids: [20 + b], cache, adapters: sets[b % sets.length] };
  });
  for (let i = 0; i < 4; i++) noGrad(() => dec!.step(rows));
  gemmMs = 0;
  gemmFlop = 0;
  kernelMs.clear();
  const t0 = performance.now();
  for (let i = 0; i < flags.num.steps; i++) noGrad(() => dec!.step(rows));
  const ms = (performance.now() - t0) / flags.num.steps;
  const perStep = [...kernelMs].map(([name, t]) => [name, t / flags.num.steps] as const).sort((x, y) => y[1] - x[1]);
  return { usPerToken: (ms * 1000) / B, gemmShare: gemmMs / flags.num.steps / ms, gflops: gemmFlop / (gemmMs * 1e6), ms, perStep };
}

const sizes = [...new Set([1, ...(flags.str.rows ?? '1,4,16,32').split(',').map(Number).filter((n) => n >= 1)])];
const results = sizes.map((B) => ({ B, ...measure(B) }));
const one = results[0].usPerToken;
console.log(`bench:batch-decode  ${flags.str.model ?? 'bundled shitate-mini'}: ${cfg.numLayers} layers, C ${cfg.hiddenSize}, V ${cfg.vocabSize}; ${flags.num.context} tokens in each cache (${kvCache})${flags.bool.adapters ? '; rows on base / two adapters' : ''}\n`);
printTable(['rows', 'µs/token', 'tokens/s vs 1 row', 'gemmRows share', 'gemmRows GFLOP/s'],
  results.map((r) => [String(r.B), fmt(r.usPerToken, 0), `${fmt(one / r.usPerToken, 2)}x`, `${fmt(100 * r.gemmShare, 0)}%`, fmt(r.gflops, 1)]));
const last = results[results.length - 1];
const inKernels = last.perStep.reduce((x, [, t]) => x + t, 0);
console.log(`\nwhere a step of ${last.B} rows goes (${fmt(last.ms, 2)} ms; kernels ${fmt(inKernels, 2)} ms, the rest JavaScript):\n`);
printTable(['kernel', 'ms per step', 'share'],
  [...last.perStep.filter(([, t]) => t >= 0.01 * last.ms).map(([name, t]) => [name, fmt(t, 2), `${fmt(100 * t / last.ms, 0)}%`]),
    ['JavaScript (outside the kernels)', fmt(last.ms - inKernels, 2), `${fmt(100 * (last.ms - inKernels) / last.ms, 0)}%`]]);
