// Greedy KV-cache generation speed, shitate vs a plain-PyTorch decoder over the same random
// SmolLM2-135M-shaped checkpoint (or another --arch: a hybrid such as Qwen3.5 decodes its linear-attention layers from a
// fixed-size recurrent state on both sides): both resident as child processes with the same thread environment,
// generating in turns. Run: npm run bench:generate [-- --layers 2 --new 16]   (or BENCH_<FLAG> env)
import os from 'node:os';
import path from 'node:path';
import { exportableCheckpoint, ggufOf, race } from './lib/llama-race.js';
import { ARCHS, ensureRandomCheckpoint, randomIds } from './lib/checkpoint.js';
import { printProfileSummary } from './lib/profile.js';
import { decodeWeightBytes } from './lib/cost.js';
import { drive, type SideRun, type SideSpec } from './lib/lockstep.js';
import {
  findTorchPython, fmt, getNum, getNums, mib, nodeWorker, parseBenchFlags, printTable, reportShitateKernels,
  reportTorchBlas, threadEnv, CACHE_DIR, REPO_ROOT,
} from './lib/harness.js';
import { loadModelConfig } from '../src/models/index.js';

const USAGE = `bench/generate.ts: prefill and decode tokens/s, shitate vs PyTorch (same run, same threads)

  --threads N     threads for both sides (default 2; SHITATE_THREADS, OPENBLAS/OMP_NUM_THREADS)
  --arch NAME     shape of the random model: ${Object.entries(ARCHS).map(([k, a]) => `${k} (${a.label})`).join(', ')}; default smollm2
  --layers N      its layers (default: the real model's; e.g. 2 for a quick check)
  --prompt N      prompt tokens (default 64)
  --new N         new tokens, greedy (default 128)
  --repeat N      timed generations per side, taken in turns; the best counts (default 3)
  --check N       greedy steps compared between the two sides (default 16)
  --weights F     shitate's weight format: f32 (default), bf16 or int8 (generate --weights F; PyTorch stays float32)
  --kv-cache F    shitate's KV cache: auto (default: bf16 beside bf16 or int8 weights), f32 or bf16
  --model DIR     use this Hugging Face folder instead of the random checkpoint
  --python PATH   interpreter with torch (default /usr/bin/python3)
  --no-torch      skip the PyTorch side
  --llama         then race decoding against llama.cpp (node-llama-cpp) on GGUF exports of the same checkpoint:
                  shitate f32 weights vs llama.cpp F32, bf16 vs F16, int8 vs Q8_0 (random smollm2 only)
  --sequential    run one side after the other instead of in turns (only one model in memory at a time)
  --profile       profile the shitate side (V8 --cpu-prof into bench/.cache/profiles) and print its hot spots`;

const flags = parseBenchFlags(process.argv.slice(2), {
  nums: { threads: 2, layers: 0, prompt: 64, new: 128, repeat: 3, check: 16 },
  strs: ['model', 'python', 'arch', 'weights', 'kv-cache'],
  bools: ['no-torch', 'sequential', 'profile', 'llama'],
}, USAGE);
const { threads, layers, repeat, check } = flags.num;
const nPrompt = flags.num.prompt;
const nNew = flags.num.new;
if (nPrompt < 1 || nNew < 2 || threads < 1 || repeat < 1) {
  console.error(`need --prompt >= 1, --new >= 2, --threads >= 1 and --repeat >= 1\n\n${USAGE}`);
  process.exit(2);
}

const weights = flags.str.weights ?? 'f32';
if (weights !== 'f32' && weights !== 'bf16' && weights !== 'int8') {
  console.error(`--weights takes f32, bf16 or int8 (got ${weights})\n\n${USAGE}`);
  process.exit(2);
}
const arch = flags.str.arch ?? 'smollm2';
if (!ARCHS[arch]) {
  console.error(`--arch takes ${Object.keys(ARCHS).join(', ')} (got ${arch})\n\n${USAGE}`);
  process.exit(2);
}
const dir = flags.str.model ?? ensureRandomCheckpoint(layers || undefined, arch);
const cfg = loadModelConfig(dir);
const prompt = randomIds(nPrompt, cfg.vocabSize, 7).join(',');
const profileDir = flags.bool.profile ? path.join(CACHE_DIR, 'profiles') : undefined;
const startedAt = Date.now();
console.log(`bench:generate  ${path.relative(REPO_ROOT, dir) || dir}: ${cfg.numLayers} layers, C ${cfg.hiddenSize}, ` +
  `V ${cfg.vocabSize}; batch 1, prompt ${nPrompt}, ${nNew} new tokens greedy, KV cache, float32${weights !== 'f32' || flags.str['kv-cache'] ? ` (shitate: ${weights} weights, KV cache ${flags.str['kv-cache'] ?? 'auto'})` : ''}, ${threads} threads`);

const specs: SideSpec[] = [{
  label: 'shitate', cmd: process.execPath,
  args: [...nodeWorker('generate-worker.ts', profileDir), '--model', dir, '--prompt', prompt, '--weights', weights, '--kv-cache', flags.str['kv-cache'] ?? 'auto'],
}];
const torch = flags.bool['no-torch'] ? { python: null, why: '--no-torch' } : findTorchPython(flags.str.python);
if (torch.python) {
  const script = path.join(REPO_ROOT, 'scripts', 'reference', 'bench_generate.py');
  specs.push({ label: 'pytorch', cmd: torch.python, args: ['-B', script, '--model', dir, '--prompt', prompt, '--threads', String(threads)] });
} else console.log(`PyTorch side skipped: ${torch.why}`);

// a short warm-up generation (first touch of buffers, JIT), then the timed ones
const units = [Math.min(4, nNew), ...Array.from({ length: repeat }, () => nNew)];
const [ours, ref] = await drive(specs, units, threadEnv(threads), flags.bool.sequential);

interface Speeds { prefill: number; decode: number; tokens: number[] }
/** Best prefill and best decode over the timed generations. */
function speeds(r: SideRun): Speeds {
  const timed = r.steps.slice(1);
  const best = (key: string) => Math.min(...timed.map((s) => getNum(s, key)));
  const tokens = getNums(timed[0], 'tokens');
  return {
    prefill: getNum(timed[0], 'prompt_tokens') / best('prefill_s'),
    // the first new token comes out of the prefill; each decode step makes one more
    decode: (tokens.length - 1) / best('decode_s'),
    tokens,
  };
}

reportShitateKernels(ours.ready);
if (ref) reportTorchBlas(ref.ready);
// decode streams every weight once per token: this is how close a side gets to the memory bandwidth
const weightGBs = (s: Speeds) => fmt((decodeWeightBytes(cfg) * s.decode) / 1e9);
const row = (name: string, r: SideRun, s: Speeds): string[] =>
  [name, fmt(s.prefill), fmt(s.decode), weightGBs(s), fmt(getNum(r.ready, 'load_s'), 2), mib(getNum(r.result, 'max_rss_kib'))];
const sOurs = speeds(ours);
const rows = [row('shitate', ours, sOurs)];
const sRef = ref ? speeds(ref) : null;
if (ref && sRef) {
  rows.push(row('pytorch', ref, sRef));
  rows.push(['ratio shitate/pytorch', `${fmt(sOurs.prefill / sRef.prefill, 2)}x`, `${fmt(sOurs.decode / sRef.decode, 2)}x`,
    '', '', `${fmt(getNum(ours.result, 'max_rss_kib') / getNum(ref.result, 'max_rss_kib'), 2)}x`]);
}
console.log('');
printTable(['', 'prefill tok/s', 'decode tok/s', 'weights GB/s', 'load s', 'peak RSS'], rows);

if (ref && sRef) {
  // random bf16 weights give small logit margins, so a near-tie may legitimately break differently
  const [a, b] = [sOurs.tokens, sRef.tokens];
  const gaps = getNums(ref.steps[1], 'gaps');
  const n = Math.min(check, a.length, b.length);
  let first = -1;
  for (let i = 0; i < n && first < 0; i++) if (a[i] !== b[i]) first = i;
  if (first < 0) {
    const minGap = Math.min(...gaps.slice(0, n));
    console.log(`\ngreedy tokens: first ${n} identical (smallest PyTorch top-2 logit gap ${minGap.toExponential(2)})`);
  } else {
    console.log(`\ngreedy tokens: first ${first} of ${n} identical; step ${first} differs ` +
      `(shitate ${a[first]}, pytorch ${b[first]}, PyTorch top-2 gap there ${gaps[first].toExponential(2)})`);
  }
}
if (profileDir) printProfileSummary(profileDir, startedAt);
if (flags.bool.llama) llamaRace();

/** Decode tokens/s against llama.cpp, each decoder in its own process, in turns over --repeat rounds (best counts). */
function llamaRace(): void {
  if (flags.str.model || arch !== 'smollm2') {
    console.log('\n--llama races the random smollm2 checkpoint only (it needs a tokenizer for the GGUF file)');
    return;
  }
  const gdir = exportableCheckpoint(layers || undefined);
  const f32 = ggufOf(gdir, 'f32', threads);
  const f16 = ggufOf(gdir, 'f16', threads);
  const q8 = ggufOf(gdir, 'q8_0', threads);
  const t = String(threads);
  const best = race([
    { label: 'llama.cpp F32', args: (p, n) => ['decode-llama', f32, p, n, t] },
    { label: 'shitate f32', args: (p, n) => ['decode-shitate', gdir, p, n, 'f32'] },
    { label: 'llama.cpp F16', args: (p, n) => ['decode-llama', f16, p, n, t] },
    { label: 'shitate bf16', args: (p, n) => ['decode-shitate', gdir, p, n, 'bf16'] },
    { label: 'llama.cpp Q8_0', args: (p, n) => ['decode-llama', q8, p, n, t] },
    { label: 'shitate int8', args: (p, n) => ['decode-shitate', gdir, p, n, 'int8'] },
  ], prompt, nNew, repeat, threads);
  const v = (k: string) => best.get(k) ?? NaN;
  console.log(`\ndecode vs llama.cpp (${nPrompt}-token prompt, ${nNew} new tokens, best of ${repeat} rounds, load average ` +
    `${os.loadavg().map((x) => x.toFixed(1)).join(' ')}):`);
  printTable(['decoder', 'decode tok/s'], [...best].map(([k, x]) => [k, fmt(x)]));
  console.log(`ratio shitate f32 / llama.cpp F32: ${fmt(v('shitate f32') / v('llama.cpp F32'), 2)}x (target >= 1.0); ` +
    `shitate bf16 / llama.cpp F16: ${fmt(v('shitate bf16') / v('llama.cpp F16'), 2)}x (target >= 1.5); ` +
    `shitate int8 / llama.cpp Q8_0: ${fmt(v('shitate int8') / v('llama.cpp Q8_0'), 2)}x`);
}
