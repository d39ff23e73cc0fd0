// shitate's half of bench/train: one LoRA training step (forward, mean cross-entropy, backward, AdamW) on a
// fixed random batch per `go` (see lockstep.ts), in a child process of its own so its peak RSS is the
// training's alone. Writes the initial LoRA A factors so PyTorch starts from the same adapter.
import fs from 'node:fs';
import { DecoderModel, loadModel } from '../../src/models/index.js';
import { attachLora } from '../../src/lora/index.js';
import { backward, compactFrozenWeights, setComputePrecision, withStepPool } from '../../src/tensor/index.js';
import { writeSafetensors } from '../../src/io/index.js';
import { AdamW } from '../../src/train/optimizer.js';
import { kernelsInUse, parseBenchFlags } from './harness.js';
import { preferSleepingBlasThreads, spinOmpThreadsBriefly } from '../../src/kernels/index.js';
import { commands, send } from './lockstep.js';
import { timeKernels } from './kernel-times.js';

const TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

const flags = parseBenchFlags(process.argv.slice(2), {
  nums: { rank: 8, alpha: 16, lr: 1e-4 },
  strs: ['model', 'batch-file', 'lora-init', 'precision'],
  bools: ['kernel-times'],
}, 'train-worker --model DIR --batch-file F --lora-init F [--rank --alpha --lr --precision fp32|bf16 --kernel-times]   (then "go" per step, "done")');
const { model: dir, 'batch-file': batchFile, 'lora-init': initFile } = flags.str;
if (!dir || !batchFile || !initFile) throw new Error('train-worker needs --model, --batch-file and --lora-init');
const { rank, alpha, lr } = flags.num;

// the batch: B rows of T+1 random ids; inputs are ids[:, :T], targets ids[:, 1:] (every position a target)
const batch = JSON.parse(fs.readFileSync(batchFile, 'utf8')) as { batch: number; seq: number; ids: number[] };
const { batch: B, seq: T } = batch;
const inputs = new Int32Array(B * T);
const targets = new Int32Array(B * T);
for (let b = 0; b < B; b++) {
  for (let t = 0; t < T; t++) {
    inputs[b * T + t] = batch.ids[b * (T + 1) + t];
    targets[b * T + t] = batch.ids[b * (T + 1) + t + 1];
  }
}

const precision = flags.str.precision ?? 'fp32';
if (precision !== 'fp32' && precision !== 'bf16') throw new Error(`--precision takes fp32 or bf16, not ${precision}`);
setComputePrecision(precision);
preferSleepingBlasThreads(); // as `shitate train` does, before anything loads the kernels
spinOmpThreadsBriefly();
const used = kernelsInUse();
const tLoad = performance.now();
const { model } = loadModel(dir);
const loadS = (performance.now() - tLoad) / 1000;
const lora = attachLora(model, { r: rank, alpha, dropout: 0, targetModules: TARGETS, useRslora: false }, 1);
lora.setTraining(true, 1);
if (precision === 'bf16') { // as `shitate train --precision bf16` does
  compactFrozenWeights(model.linears());
  if (model instanceof DecoderModel) model.compactTables();
}
const params = lora.params();
writeSafetensors(initFile, params.map((p) => ({
  name: p.name, shape: [...p.tensor.shape], dtype: 'F32' as const, data: p.tensor.data,
})));
const rssAfterLoad = process.memoryUsage().rss / 1024;
process.stderr.write(`shitate: loaded in ${loadS.toFixed(1)} s (kernels: ${used.kernels}), ${params.length} LoRA tensors, batch ${B}x${T}\n`);
send('READY', { ...used, load_s: loadS, rss_after_load_kib: rssAfterLoad, tokens_per_step: B * T });

// torch.optim.AdamW's defaults except weight decay, which transformers' Trainer leaves at 0
const opt = new AdamW(params, { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }); // `shitate train`'s optimizer
const clock = flags.bool['kernel-times'] ? timeKernels() : null; // each STEP then carries its ms per kernel
let step = 0;
for await (const _ of commands()) {
  step++;
  const t0 = performance.now();
  opt.zeroGrad();
  const lossValue = withStepPool(() => { // activations and gradients recycled between steps, as `shitate train` does
    const { loss } = model.forward({ ids: inputs, batch: B, seqLen: T, targets });
    if (!loss) throw new Error('forward with targets returned no loss');
    const value = loss.item();
    backward(loss);
    return value;
  });
  opt.update(lr);
  const stepS = (performance.now() - t0) / 1000;
  process.stderr.write(`shitate: step ${step} loss ${lossValue.toFixed(5)} ${stepS.toFixed(2)} s\n`);
  send('STEP', { step_s: stepS, loss: lossValue, ...(clock ? { kernels: clock.take() } : {}) });
}
send('RESULT', { max_rss_kib: process.resourceUsage().maxRSS });
