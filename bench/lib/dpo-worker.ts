// shitate's half of bench/train --method dpo: one DPO step (reference log-probabilities with the adapters off and
// no graph, policy forward and backward of the sigmoid loss through the fused per-sequence scores, AdamW) on a
// fixed batch of pairs per `go`, exactly as `shitate train --method dpo` runs it (the same objective code).
import fs from 'node:fs';
import { loadModel } from '../../src/models/index.js';
import { attachLora } from '../../src/lora/index.js';
import { compactFrozenWeights, setComputePrecision } from '../../src/tensor/index.js';
import { writeSafetensors } from '../../src/io/index.js';
import { AdamW } from '../../src/train/optimizer.js';
import { kernelsInUse, parseBenchFlags } from './harness.js';
import { preferSleepingBlasThreads, spinOmpThreadsBriefly } from '../../src/kernels/index.js';
import { commands, send } from './lockstep.js';
import { ReferencePolicy } from '../../src/train/reference.js';
import { dpoObjective } from '../../src/train/preference-objective.js';
import type { PairExample } from '../../src/train/preference-data.js';

const TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

const flags = parseBenchFlags(process.argv.slice(2), {
  nums: { rank: 8, alpha: 16, lr: 1e-4, beta: 0.1 },
  strs: ['model', 'batch-file', 'lora-init', 'precision'],
}, 'dpo-worker --model DIR --batch-file F --lora-init F [--rank --alpha --lr --beta --precision fp32|bf16]   (then "go" per step, "done")');
const { model: dir, 'batch-file': batchFile, 'lora-init': initFile } = flags.str;
if (!dir || !batchFile || !initFile) throw new Error('dpo-worker needs --model, --batch-file and --lora-init');
const { rank, alpha, lr, beta } = flags.num;

// the pairs: prompt, chosen and rejected ids; each sequence is prompt + completion, the completion scored
const spec = JSON.parse(fs.readFileSync(batchFile, 'utf8')) as { pairs: { prompt: number[]; chosen: number[]; rejected: number[] }[] };
const seq = (p: number[], c: number[]) => ({ ids: Int32Array.from([...p, ...c]), mask: Uint8Array.from([...p.map(() => 0), ...c.map(() => 1)]) });
const pairs: PairExample[] = spec.pairs.map((p, i) => ({ chosen: seq(p.prompt, p.chosen), rejected: seq(p.prompt, p.rejected), source: `pair ${i}` }));
const tokensPerStep = pairs.reduce((s, p) => s + p.chosen.ids.length + p.rejected.ids.length, 0);

const precision = flags.str.precision ?? 'fp32';
if (precision !== 'fp32' && precision !== 'bf16') throw new Error(`--precision takes fp32 or bf16, not ${precision}`);
setComputePrecision(precision);
preferSleepingBlasThreads();
spinOmpThreadsBriefly(); // as `shitate train` does
const used = kernelsInUse();
const tLoad = performance.now();
const { model } = loadModel(dir);
const loadS = (performance.now() - tLoad) / 1000;
const lora = attachLora(model, { r: rank, alpha, dropout: 0, targetModules: TARGETS, useRslora: false }, 1);
if (precision === 'bf16') compactFrozenWeights(model.linears());
const params = lora.params();
writeSafetensors(initFile, params.map((p) => ({ name: p.name, shape: [...p.tensor.shape], dtype: 'F32' as const, data: p.tensor.data })));
const objective = dpoObjective(model, ReferencePolicy.base(lora), pairs, [], {
  batchTokens: 1 << 30, packing: false, groupByLength: false, maxSeqLen: 1 << 20, padId: 0,
}, { beta, lossType: 'sigmoid', labelSmoothing: 0 });
const rows = pairs.map((_, i) => [i]);
const rssAfterLoad = process.memoryUsage().rss / 1024;
process.stderr.write(`shitate: loaded in ${loadS.toFixed(1)} s (kernels: ${used.kernels}), ${params.length} LoRA tensors, ${pairs.length} pairs\n`);
send('READY', { ...used, load_s: loadS, rss_after_load_kib: rssAfterLoad, tokens_per_step: tokensPerStep });

const opt = new AdamW(params, { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }); // `shitate train`'s optimizer
let step = 0;
for await (const _ of commands()) {
  step++;
  const t0 = performance.now();
  opt.zeroGrad();
  const loss = objective.build(rows).run(pairs.length);
  objective.takeStepMetrics();
  opt.update(lr);
  const stepS = (performance.now() - t0) / 1000;
  process.stderr.write(`shitate: step ${step} dpo loss ${loss.toFixed(5)} ${stepS.toFixed(2)} s\n`);
  send('STEP', { step_s: stepS, loss });
}
send('RESULT', { max_rss_kib: process.resourceUsage().maxRSS });
