// shitate's half of bench/generate: greedy KV-cache decoding of one prompt, timing prefill and decode
// separately, one generation per `go N` (see lockstep.ts). Run by bench/generate.ts as a child process. It runs
// what `shitate generate` runs: a model with a row decoder prefills through it in PREFILL_CHUNK-token chunks and
// decodes one row per step; other models (hybrids) through their own forward.
import { kvCacheFormat, loadModel, rowDecoder, setKvCacheFormat, type ForwardOutput, type CausalLM, type KvCacheFormat, type RowDecoder } from '../../src/models/index.js';
import { PREFILL_CHUNK } from '../../src/generate/session.js';
import { holdWeightsBf16, holdWeightsInt8, noGrad, setWeightFormat, type WeightFormat } from '../../src/tensor/index.js';
import { kernelsInUse, parseBenchFlags } from './harness.js';
import { commands, send } from './lockstep.js';

const flags = parseBenchFlags(process.argv.slice(2), { nums: {}, strs: ['model', 'prompt', 'weights', 'kv-cache'] },
  'generate-worker --model DIR --prompt 1,2,3 [--weights f32|bf16|int8] [--kv-cache auto|f32|bf16]   (then reads "go N" per generation of N tokens, "done")');
const dir = flags.str.model;
const promptText = flags.str.prompt;
if (!dir || !promptText) throw new Error('generate-worker needs --model and --prompt');
const prompt = Int32Array.from(promptText.split(',').map(Number));

/** The id with the largest logit in a row of logits. */
function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** The id with the largest logit in the [1, 1, V] last-position logits. */
function argmaxLast(out: ForwardOutput): number {
  if (!out.logits) throw new Error("forward with logits: 'last' returned no logits");
  return argmax(out.logits.data);
}

interface Run {
  tokens: number[];
  prefillS: number;
  decodeS: number;
}

/** Prefill the prompt (its last logits give the first new token), then n-1 single-token decode steps. */
function generate(model: CausalLM, rows: RowDecoder | null, ids: Int32Array, n: number): Run {
  const cache = model.createCache(1, ids.length + n, kvCacheFormat(rows !== null)); // keys and values, or recurrent state (hybrids)
  const t0 = performance.now();
  if (rows) {
    const adapters = rows.attached();
    let logits: Float32Array | undefined;
    for (let at = 0; at < ids.length; at += PREFILL_CHUNK) {
      logits = rows.step([{ ids: Array.from(ids.subarray(at, at + PREFILL_CHUNK)), cache, adapters }])[0];
    }
    const tokens = [argmax(logits!)];
    const t1 = performance.now();
    for (let i = 1; i < n; i++) tokens.push(argmax(rows.step([{ ids: [tokens[i - 1]], cache, adapters }])[0]));
    const t2 = performance.now();
    return { tokens, prefillS: (t1 - t0) / 1000, decodeS: (t2 - t1) / 1000 };
  }
  const first = model.forward({ ids, batch: 1, seqLen: ids.length, cache, logits: 'last' });
  const tokens = [argmaxLast(first)];
  const t1 = performance.now();
  for (let i = 1; i < n; i++) {
    const out = model.forward({ ids: Int32Array.of(tokens[i - 1]), batch: 1, seqLen: 1, cache, logits: 'last' });
    tokens.push(argmaxLast(out));
  }
  const t2 = performance.now();
  return { tokens, prefillS: (t1 - t0) / 1000, decodeS: (t2 - t1) / 1000 };
}

const used = kernelsInUse();
const tLoad = performance.now();
const { model } = loadModel(dir);
const weights = (flags.str.weights ?? 'f32') as WeightFormat;
setWeightFormat(weights);
if (weights === 'bf16') holdWeightsBf16(model.linears()); // as openModel(dir, { weights: 'bf16' }) does
if (weights === 'int8') holdWeightsInt8(model.linears()); // as openModel(dir, { weights: 'int8' }) does
setKvCacheFormat((flags.str['kv-cache'] ?? 'auto') as KvCacheFormat | 'auto');
const loadS = (performance.now() - tLoad) / 1000;
const rows = rowDecoder(model);
process.stderr.write(`shitate: loaded in ${loadS.toFixed(1)} s (kernels: ${used.kernels})\n`);
send('READY', { ...used, load_s: loadS });
for await (const arg of commands()) {
  const run = noGrad(() => generate(model, rows, prompt, Number(arg)));
  send('STEP', { prefill_s: run.prefillS, decode_s: run.decodeS, prompt_tokens: prompt.length, tokens: run.tokens });
}
send('RESULT', { max_rss_kib: process.resourceUsage().maxRSS });
