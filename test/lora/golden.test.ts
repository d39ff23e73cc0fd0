// LoRA against the PyTorch/PEFT-style reference: a PEFT-named adapter loads and reproduces logits and
// loss, every lora_A/lora_B gradient matches within 1e-4 (relative to the tensor's largest entry), and a
// 10-step AdamW trajectory matches within 1e-4. Fusing equals the unfused adapter.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, shiftLabels } from '../../src/models/index.js';
import { loadAdapter } from '../../src/lora/index.js';
import { backward, noGrad } from '../../src/tensor/index.js';
import { adamwTrajectory, type TorchAdamW } from '../helpers/trajectory.js';

const FIX = join(import.meta.dirname, '..', 'fixtures');

interface LoraGolden {
  input_ids: number[][];
  labels: number[][];
  logits: number[];
  loss: number;
  grads: Record<string, number[]>;
  trajectory: { optimizer: TorchAdamW; steps: number; losses: number[] };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe.each(['llama-tiny-lora', 'llama-tiny-lora-rslora'])('%s', (adapterName) => {
  const g = JSON.parse(readFileSync(join(FIX, adapterName, 'lora_golden.json'), 'utf8')) as LoraGolden;
  const B = g.input_ids.length;
  const T = g.input_ids[0].length;
  const ids = Int32Array.from(g.input_ids.flat());
  const targets = shiftLabels(Int32Array.from(g.labels.flat()), B, T);

  it('loads, reproduces logits and loss, and every LoRA gradient', () => {
    const { model } = loadModel(join(FIX, 'llama-tiny'));
    const set = loadAdapter(join(FIX, adapterName), model, true);
    expect(set.params().length).toBe(Object.keys(g.grads).length);
    const { logits } = noGrad(() => model.forward({ ids, batch: B, seqLen: T }));
    expect(maxAbs(logits!.data, g.logits)).toBeLessThan(1e-4);
    const { loss } = model.forward({ ids, batch: B, seqLen: T, targets });
    expect(Math.abs(loss!.item() - g.loss) / g.loss).toBeLessThan(1e-5);
    backward(loss!);
    let worst = 0;
    for (const { name, tensor } of set.params()) {
      const ref = g.grads[name];
      expect(ref, name).toBeDefined();
      const scale = Math.max(...ref.map(Math.abs));
      const rel = maxAbs(tensor.grad!.data, ref) / scale;
      worst = Math.max(worst, rel);
      expect(rel, name).toBeLessThan(1e-4);
    }
    console.log(`${adapterName}: worst LoRA gradient rel diff ${worst.toExponential(2)}`);
  });

  it('follows the 10-step AdamW loss trajectory', () => {
    const { model } = loadModel(join(FIX, 'llama-tiny'));
    const set = loadAdapter(join(FIX, adapterName), model, true);
    const losses = adamwTrajectory(model, set.params().map((p) => p.tensor), { ids, B, T, targets }, g.trajectory.optimizer, g.trajectory.steps);
    console.log(`${adapterName}: trajectory max diff ${maxAbs(losses, g.trajectory.losses).toExponential(2)}`);
    expect(maxAbs(losses, g.trajectory.losses)).toBeLessThan(1e-4);
  });

  it('fused weights give the adapter output; unfusing restores the base', () => {
    const { model } = loadModel(join(FIX, 'llama-tiny'));
    const base = noGrad(() => model.forward({ ids, batch: B, seqLen: T }).logits!.data.slice());
    const set = loadAdapter(join(FIX, adapterName), model);
    const adapted = noGrad(() => model.forward({ ids, batch: B, seqLen: T }).logits!.data.slice());
    set.fuse();
    const fused = noGrad(() => model.forward({ ids, batch: B, seqLen: T }).logits!.data.slice());
    expect(maxAbs(fused, adapted)).toBeLessThan(1e-4);
    set.detach();
    const restored = noGrad(() => model.forward({ ids, batch: B, seqLen: T }).logits!.data.slice());
    expect(maxAbs(restored, base)).toBeLessThan(1e-4);
    expect(maxAbs(adapted, base)).toBeGreaterThan(1e-2);
  });
});
