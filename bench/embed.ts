// Sentence-embedding throughput, shitate vs a plain-PyTorch XLM-RoBERTa (scripts/reference/encoder_ref.py, the
// eager path transformers runs) over the same random multilingual-e5-small-shaped checkpoint (12 layers, hidden
// 384, 12 heads, FFN 1536, XLM-R vocabulary): both embed the same passages as sentence-transformers does (sorted by
// length, batches padded to their longest row, mean pooling, L2 normalisation), each in its own process with the
// same threads. Prints passages/s of both, their ratio and how far the embeddings differ.
// Run: npm run bench:embed [-- --passages 256 --threads 2]   (or BENCH_<FLAG> env)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { writeSafetensors } from '../src/io/safetensors.js';
import { Fields } from '../src/io/json-fields.js';
import { Rng } from '../src/kernels/rng.js';
import { xlmRoberta } from '../src/models/roberta.js';
import { tableTensors } from '../src/models/params.js';
import {
  CACHE_DIR, findTorchPython, fmt, getNum, mib, nodeWorker, parseBenchFlags, printTable, reportShitateKernels, reportTorchBlas, threadEnv, type Json,
} from './lib/harness.js';

const USAGE = `bench/embed.ts: passages/s of sentence embeddings, shitate vs PyTorch (same run, same threads)

  --threads N     threads for both sides (default 2)
  --passages N    passages embedded per timing (default 256)
  --min-len N     shortest passage in tokens, special tokens included (default 32)
  --max-len N     longest passage (default 256)
  --batch N       passages per batch (default 32, sentence-transformers' default)
  --repeat N      timings per side; the best counts (default 3)
  --layers N      encoder layers (default 12, as multilingual-e5-small)
  --vocab N       vocabulary (default 250037, as multilingual-e5-small; speed does not depend on it)
  --python PATH   interpreter with torch (default /usr/bin/python3)
  --no-torch      skip the PyTorch side`;

const flags = parseBenchFlags(process.argv.slice(2), {
  nums: { threads: 2, passages: 256, 'min-len': 32, 'max-len': 256, batch: 32, repeat: 3, layers: 12, vocab: 250037 },
  strs: ['python'], bools: ['no-torch'],
}, USAGE);
const n = flags.num;

/** The random checkpoint (cached): config.json as multilingual-e5-small's, weights ~ N(0, 0.02), norms 1. */
function checkpoint(): string {
  const dir = path.join(CACHE_DIR, `e5-small-random-L${n.layers}-V${n.vocab}`);
  if (fs.existsSync(path.join(dir, 'model.safetensors'))) return dir;
  fs.mkdirSync(dir, { recursive: true });
  const config = {
    architectures: ['XLMRobertaModel'], model_type: 'xlm-roberta', vocab_size: n.vocab, hidden_size: 384, num_hidden_layers: n.layers,
    num_attention_heads: 12, intermediate_size: 1536, hidden_act: 'gelu', max_position_embeddings: 514, type_vocab_size: 1,
    layer_norm_eps: 1e-12, pad_token_id: 1, bos_token_id: 0, eos_token_id: 2,
  };
  const c = xlmRoberta.parseConfig(new Fields('config.json', config));
  const rng = new Rng(5);
  writeSafetensors(path.join(dir, 'model.safetensors'), tableTensors(xlmRoberta.table(c)).map(({ name, shape }) => {
    const norm = /LayerNorm\.weight$/.test(name);
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (norm ? 1 : name.endsWith('.bias') ? 0 : rng.normal() * 0.02));
    return { name: name.replace(/^roberta\./, ''), shape: [...shape], dtype: 'F32' as const, data };
  }));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

/** Token rows <s> ... </s> of uniformly spread lengths. */
function passages(file: string): number[][] {
  const rng = new Rng(11);
  const rows = Array.from({ length: n.passages }, () => {
    const len = n['min-len'] + Math.floor(rng.next() * (n['max-len'] - n['min-len'] + 1));
    return [0, ...Array.from({ length: len - 2 }, () => 5 + Math.floor(rng.next() * (n.vocab - 5))), 2];
  });
  fs.writeFileSync(file, JSON.stringify(rows));
  return rows;
}

function side(cmd: string, args: string[]): Json {
  const r = spawnSync(cmd, args, { env: threadEnv(n.threads), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Json;
}

const dir = checkpoint();
const idsFile = path.join(CACHE_DIR, 'embed-passages.json');
const rows = passages(idsFile);
const tokens = rows.reduce((s, r) => s + r.length, 0);
console.log(`bench:embed  ${n.passages} passages of ${n['min-len']}-${n['max-len']} tokens (${tokens} in all), batches of ${n.batch}; ` +
  `multilingual-e5-small shape (${n.layers} layers, hidden 384, 12 heads, FFN 1536), float32, ${n.threads} threads`);
const ours = side(process.execPath, [...nodeWorker('embed-worker.ts'), dir, idsFile, String(n.batch), String(n.repeat)]);
const torch = flags.bool['no-torch'] ? { python: null, why: '--no-torch' } : findTorchPython(flags.str.python);
const ref = torch.python
  ? side(torch.python, ['-B', path.join(import.meta.dirname, '..', 'scripts', 'reference', 'bench_embed.py'), '--model', dir, '--ids', idsFile,
    '--batch', String(n.batch), '--repeat', String(n.repeat), '--threads', String(n.threads)])
  : null;
if (!ref) console.log(`PyTorch side skipped: ${torch.why}`);
const rate = (r: Json) => n.passages / getNum(r, 'seconds');
const table = [['shitate', fmt(rate(ours)), fmt(tokens / getNum(ours, 'seconds'), 0), ''], ...(ref ? [['pytorch', fmt(rate(ref)), fmt(tokens / getNum(ref, 'seconds'), 0), mib(getNum(ref, 'max_rss_kib'))]] : [])];
console.log('');
printTable(['side', 'passages/s', 'tokens/s', 'peak RSS'], table);
reportShitateKernels(ours);
if (ref) {
  reportTorchBlas(ref);
  const a = ours.first as number[][];
  const b = ref.first as number[][];
  const diff = Math.max(...a.flatMap((v, i) => v.map((x, j) => Math.abs(x - b[i][j]))));
  console.log(`\nratio shitate / pytorch: ${fmt(rate(ours) / rate(ref), 2)}x passages/s; embeddings agree within ${diff.toExponential(1)} (max abs, normalised vectors)`);
}
