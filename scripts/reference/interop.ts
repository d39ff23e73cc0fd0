// What this engine writes, for transformers and PEFT to read back (hf_crosscheck.py --interop DIR): for every
// checkpoint in test/fixtures/hf, a fresh LoRA adapter saved here (random A and B, PEFT's all-linear; encoders a
// SEQ_CLS adapter with its head) with the logits this engine gives with it, and for a few families the folder
// `shitate merge` writes (BF16) with its logits. Run: npx tsx scripts/reference/interop.ts OUTDIR
import fs from 'node:fs';
import path from 'node:path';
import { loadModel, saveModelFolder } from '../../src/models/index.js';
import { attachLora, loadAdapter, saveAdapter, type LoraSet } from '../../src/lora/index.js';
import { loadEncoder } from '../../src/models/encoder-load.js';
import { saveSeqClsAdapter } from '../../src/lora/seq-cls.js';
import { noGrad, type Tensor } from '../../src/tensor/index.js';
import { Rng } from '../../src/kernels/rng.js';

const HF = path.join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'hf');
const ENCODERS = new Set(['bert', 'roberta', 'xlm-roberta', 'modernbert']);
const MERGED = new Set(['qwen3', 'falcon', 'bloom', 'phi3', 'lfm2']);
const LORA = { r: 4, alpha: 8, dropout: 0, targetModules: 'all-linear' as const, useRslora: false };

/** Every factor of the set (and any extra tensors) filled with N(0, std), so the adapter moves the output. */
function randomise(tensors: Tensor[], seed: number, std: number): void {
  const rng = new Rng(seed);
  for (const t of tensors) for (let i = 0; i < t.size; i++) t.data[i] = std * rng.normal();
}

const factors = (set: LoraSet): Tensor[] => set.params().map((p) => p.tensor);
const flat = (a: Float32Array): number[] => Array.from(a, (x) => Number(x.toPrecision(7)));

function decoder(out: string, name: string, seed: number): void {
  const dir = path.join(HF, name);
  const g = JSON.parse(fs.readFileSync(path.join(dir, 'golden.json'), 'utf8')) as { input_ids: number[][] };
  const B = g.input_ids.length;
  const T = g.input_ids[0].length;
  const ids = Int32Array.from(g.input_ids.flat());
  const { model } = loadModel(dir);
  const set = attachLora(model, LORA, seed);
  randomise(factors(set), seed, 0.05);
  const adapter = path.join(out, `${name}-ours`);
  saveAdapter(adapter, set, dir);
  const { logits } = noGrad(() => model.forward({ ids, batch: B, seqLen: T, logits: 'all' }));
  const golden: Record<string, unknown> = { input_ids: g.input_ids, adapter_logits: flat(logits!.data) };
  if (MERGED.has(name)) {
    const m = loadModel(dir).model;
    loadAdapter(`${dir}-lora`, m).fuse();
    const merged = path.join(out, `${name}-merged`);
    saveModelFolder(merged, m, dir, 'BF16');
    const back = loadModel(merged).model;
    golden.merged_logits = flat(noGrad(() => back.forward({ ids, batch: B, seqLen: T, logits: 'all' })).logits!.data);
  }
  fs.writeFileSync(path.join(out, `${name}-ours.json`), JSON.stringify(golden));
}

function encoder(out: string, name: string, seed: number): void {
  const dir = path.join(HF, name);
  const g = JSON.parse(fs.readFileSync(path.join(dir, 'golden.json'), 'utf8')) as { input_ids: number[][]; attention_mask: number[][]; token_type_ids: number[][] };
  const { model } = loadEncoder(dir, { numLabels: 3, seed });
  const targets = ['query', 'key', 'value', 'Wqkv', 'Wo'].filter((t) => model.linears().some((l) => l.name.endsWith(`.${t}`)));
  const set = attachLora(model, { ...LORA, targetModules: targets }, seed);
  randomise(factors(set), seed, 0.05);
  const adapter = path.join(out, `${name}-ours`);
  saveSeqClsAdapter(adapter, set, model, dir, ['a', 'b', 'c']);
  const input = {
    ids: Int32Array.from(g.input_ids.flat()), mask: Int32Array.from(g.attention_mask.flat()), typeIds: Int32Array.from(g.token_type_ids.flat()),
    batch: g.input_ids.length, seqLen: g.input_ids[0].length,
  };
  const logits = noGrad(() => model.classify(input));
  fs.writeFileSync(path.join(out, `${name}-ours.json`), JSON.stringify({ ...g, classify_logits: flat(logits.data) }));
}

const out = process.argv[2];
if (!out) throw new Error('usage: npx tsx scripts/reference/interop.ts OUTDIR');
fs.mkdirSync(out, { recursive: true });
let seed = 1;
for (const name of fs.readdirSync(HF).sort()) {
  const cfgFile = path.join(HF, name, 'config.json');
  if (!fs.existsSync(cfgFile)) continue;
  const type = (JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as { model_type: string }).model_type;
  (ENCODERS.has(type) ? encoder : decoder)(out, name, seed++);
  console.log(name);
}
