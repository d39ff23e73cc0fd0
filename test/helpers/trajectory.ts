// The loss before each of `steps` AdamW steps on one batch (LoRA factors trainable, base frozen, no schedule,
// no clipping), as the PyTorch reference's trajectory goldens record it with torch.optim.AdamW.
import type { CausalLM } from '../../src/models/index.js';
import { adamwUpdate, backward, type Tensor } from '../../src/tensor/index.js';

export interface TorchAdamW {
  lr: number;
  betas: [number, number];
  eps: number;
  weight_decay: number;
}

export function adamwTrajectory(model: CausalLM, trainable: Tensor[], batch: { ids: Int32Array; B: number; T: number; targets: Int32Array },
  o: TorchAdamW, steps: number): number[] {
  const params = trainable.map((t) => ({ t, m: new Float32Array(t.size), v: new Float32Array(t.size) }));
  const losses: number[] = [];
  for (let step = 1; step <= steps; step++) {
    for (const p of params) p.t.grad = null;
    const { loss } = model.forward({ ids: batch.ids, batch: batch.B, seqLen: batch.T, targets: batch.targets });
    losses.push(loss!.item());
    backward(loss!);
    for (const p of params) adamwUpdate(p.t, p.m, p.v, { lr: o.lr, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weight_decay }, step);
  }
  return losses;
}
