// Child side of bench/export.ts, one job per process so peak RSS and threads are its own:
//   export DIR QUANT OUT          -> {"seconds", "maxRssKiB", "bytes"}
//   decode-llama FILE PROMPT N T  -> {"decodeTokPerSec", "tokens"} (llama.cpp via node-llama-cpp, T threads)
//   decode-shitate DIR PROMPT N [W] -> {"decodeTokPerSec", "tokens"} (shitate, weights W = f32, bf16 or int8, SHITATE_THREADS)
import { getLlama, LlamaLogLevel, type Token } from 'node-llama-cpp';
import { exportGguf } from '../../src/export/gguf-export.js';
import type { Quant } from '../../src/export/gguf-types.js';
import { openModel } from '../../src/generate/open.js';
import { generate } from '../../src/generate/generate.js';
import { preferSleepingBlasThreads } from '../../src/kernels/index.js';
import type { WeightFormat } from '../../src/tensor/index.js';

const [mode, a, b, c, d] = process.argv.slice(2);

async function decodeLlama(file: string, prompt: number[], n: number, threads: number): Promise<object> {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, maxThreads: threads });
  const model = await llama.loadModel({ modelPath: file });
  const ctx = await model.createContext({ contextSize: prompt.length + n + 8, threads });
  const tokens: number[] = [];
  let first = 0;
  for await (const t of ctx.getSequence().evaluate(prompt as Token[], { temperature: 0 })) {
    if (tokens.length === 0) first = performance.now();
    tokens.push(t);
    if (tokens.length >= n) break;
  }
  const seconds = (performance.now() - first) / 1000;
  return { decodeTokPerSec: (tokens.length - 1) / seconds, tokens };
}

async function decodeShitate(dir: string, prompt: number[], n: number, weights: WeightFormat): Promise<object> {
  if (weights !== 'f32') preferSleepingBlasThreads(); // as generate --weights bf16|int8 does, before the kernels load
  const m = openModel(dir, { weights });
  for await (const ev of generate(m, prompt, { maxNewTokens: n, temperature: 0, endIds: [] })) {
    if (ev.type === 'done') return { decodeTokPerSec: ev.timing.decodeTokensPerSec, tokens: ev.tokens };
  }
  throw new Error('generation ended without a result');
}

let result: object;
if (mode === 'export') {
  const t0 = performance.now();
  const r = exportGguf({ model: a, quant: b as Quant, out: c, overwrite: true });
  result = { seconds: (performance.now() - t0) / 1000, maxRssKiB: process.resourceUsage().maxRSS, bytes: r.bytes, notes: r.notes.length };
} else if (mode === 'decode-llama') {
  result = await decodeLlama(a, b.split(',').map(Number), Number(c), Number(d));
} else if (mode === 'decode-shitate') {
  result = await decodeShitate(a, b.split(',').map(Number), Number(c), d === 'bf16' || d === 'int8' ? d : 'f32');
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
