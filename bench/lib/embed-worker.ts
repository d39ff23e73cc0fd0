// Child side of bench/embed.ts: loads the encoder checkpoint on shitate's kernels and embeds the passages as
// SentenceEmbedder does (sorted by length, batches padded to their longest row, mean pooling, L2-normalised),
// `repeat` times; prints one JSON line with the best time and the first embeddings for the agreement check.
import fs from 'node:fs';
import { loadEncoder } from '../../src/models/encoder-load.js';
import { poolHidden } from '../../src/models/sentence-embedder.js';
import { noGrad } from '../../src/tensor/index.js';
import { kernelsInUse } from './harness.js';

const [dir, idsFile, batchArg, repeatArg] = process.argv.slice(2);
const rows = JSON.parse(fs.readFileSync(idsFile, 'utf8')) as number[][];
const batch = Number(batchArg);
const { model, config } = loadEncoder(dir);
const pad = config.padTokenId;
const C = config.hiddenSize;

function embedAll(): Float32Array[] {
  const order = rows.map((_, i) => i).sort((a, b) => rows[b].length - rows[a].length);
  const out = new Array<Float32Array>(rows.length);
  for (let i = 0; i < order.length; i += batch) {
    const part = order.slice(i, i + batch);
    const T = rows[part[0]].length;
    const ids = new Int32Array(part.length * T).fill(pad);
    const mask = new Int32Array(part.length * T);
    part.forEach((k, b) => {
      ids.set(rows[k], b * T);
      mask.fill(1, b * T, b * T + rows[k].length);
    });
    const h = noGrad(() => model.encode({ ids, mask, batch: part.length, seqLen: T })).data;
    poolHidden(h, mask, part.length, T, C, ['mean'], true).forEach((v, b) => (out[part[b]] = v));
  }
  return out;
}

embedAll(); // warm-up: first touch of buffers, JIT
let best = Infinity;
let vectors: Float32Array[] = [];
for (let r = 0; r < Number(repeatArg); r++) {
  const t0 = performance.now();
  vectors = embedAll();
  best = Math.min(best, (performance.now() - t0) / 1000);
}
process.stdout.write(`${JSON.stringify({ seconds: best, first: vectors.slice(0, 4).map((v) => Array.from(v)), ...kernelsInUse() })}\n`);
