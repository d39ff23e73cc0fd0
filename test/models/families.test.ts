// Qwen3, SmolLM3 and Granite with a PEFT adapter against the PyTorch reference (scripts/reference): logits
// within 1e-4, every LoRA gradient within 1e-4 of the tensor's max, greedy tokens equal (full recompute and
// KV cache, adapter unfused and fused), a 3-step AdamW trajectory within 1e-4; `merge` output reloads and
// reproduces the adapter; an adapter trained here is named as PEFT names it.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, saveModelFolder, shiftLabels } from '../../src/models/index.js';
import { attachLora, loadAdapter, saveAdapter, ADAPTER_WEIGHTS } from '../../src/lora/index.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { backward, noGrad } from '../../src/tensor/index.js';
import { tempDir } from '../io/helpers.js';
import { adamwTrajectory, type TorchAdamW } from '../helpers/trajectory.js';
import { greedy, maxAbs } from '../helpers/decode.js';

const FIX = path.join(import.meta.dirname, '..', 'fixtures');

interface FamilyLoraGolden {
  input_ids: number[][];
  labels: number[][];
  logits: number[];
  loss: number;
  grads: Record<string, number[]>;
  greedy: { prompt: number[]; max_new_tokens: number; tokens: number[] };
  trajectory: { optimizer: TorchAdamW; steps: number; losses: number[] };
}

describe.each(['qwen3-tiny', 'smollm3-tiny', 'granite-tiny', 'gemma2-tiny', 'gemma3-tiny', 'gemma3-mm-tiny', 'gemma4-tiny', 'phi3-tiny', 'falcon-tiny', 'falcon-mq-tiny', 'falcon-alibi-tiny', 'bloom-tiny', 'qwen3_5-tiny', 'qwen3_5-mm-tiny', 'lfm2-tiny'])('%s with a PEFT adapter', (name) => {
  const base = path.join(FIX, name);
  const adapter = path.join(FIX, `${name}-lora`);
  const g = JSON.parse(fs.readFileSync(path.join(adapter, 'lora_golden.json'), 'utf8')) as FamilyLoraGolden;
  const B = g.input_ids.length;
  const T = g.input_ids[0].length;
  const ids = Int32Array.from(g.input_ids.flat());
  const targets = shiftLabels(Int32Array.from(g.labels.flat()), B, T);

  it('logits, loss and every LoRA gradient match', () => {
    const { model } = loadModel(base);
    const set = loadAdapter(adapter, model, true);
    expect(set.params().length).toBe(Object.keys(g.grads).length);
    const { logits } = noGrad(() => model.forward({ ids, batch: B, seqLen: T }));
    const dLogits = maxAbs(logits!.data, g.logits);
    const { loss } = model.forward({ ids, batch: B, seqLen: T, targets });
    backward(loss!);
    let worst = 0;
    for (const { name: n, tensor } of set.params()) {
      const ref = g.grads[n];
      expect(ref, n).toBeDefined();
      worst = Math.max(worst, maxAbs(tensor.grad!.data, ref) / Math.max(...ref.map(Math.abs)));
    }
    console.log(`${name}+lora: logits ${dLogits.toExponential(2)}, loss ${loss!.item()} vs ${g.loss}, worst gradient ${worst.toExponential(2)} of max`);
    expect(dLogits).toBeLessThan(1e-4);
    expect(Math.abs(loss!.item() - g.loss) / g.loss).toBeLessThan(1e-5);
    expect(worst).toBeLessThan(1e-4);
  });

  it('greedy tokens with the adapter, recomputed, cached and fused', () => {
    const { model } = loadModel(base);
    const set = loadAdapter(adapter, model);
    const { prompt, max_new_tokens: n, tokens } = g.greedy;
    expect(greedy(model, prompt, n, false)).toEqual(tokens);
    expect(greedy(model, prompt, n, true)).toEqual(tokens);
    set.fuse();
    expect(greedy(model, prompt, n, true)).toEqual(tokens);
  });

  it(`follows the ${g.trajectory.steps}-step AdamW trajectory`, () => {
    const { model } = loadModel(base);
    const set = loadAdapter(adapter, model, true);
    const losses = adamwTrajectory(model, set.params().map((p) => p.tensor), { ids, B, T, targets }, g.trajectory.optimizer, g.trajectory.steps);
    expect(maxAbs(losses, g.trajectory.losses)).toBeLessThan(1e-4);
  });

  it('merged weights written as a model folder reload and reproduce the adapter logits', () => {
    const { model } = loadModel(base);
    loadAdapter(adapter, model).fuse();
    const out = path.join(tempDir('shitate-merge-'), 'merged');
    saveModelFolder(out, model, base, 'F32');
    const merged = loadModel(out);
    expect(merged.ignoredTensors).toEqual([]);
    expect(merged.model.namedWeights().map((w) => w.name)).toEqual(model.namedWeights().map((w) => w.name));
    const { logits } = noGrad(() => merged.model.forward({ ids, batch: B, seqLen: T }));
    expect(maxAbs(logits!.data, g.logits)).toBeLessThan(1e-4);
  });

  it('a fresh adapter is saved under the PEFT names of the reference adapter', () => {
    const { model } = loadModel(base);
    const set = attachLora(model, { r: 4, alpha: 8, dropout: 0, targetModules: 'all-linear', useRslora: false });
    const dir = tempDir('shitate-peft-');
    saveAdapter(dir, set, base);
    const names = (d: string) => {
      const f = openSafetensors(path.join(d, ADAPTER_WEIGHTS));
      const out = [...f.header.keys()].sort();
      f.close();
      return out;
    };
    expect(names(dir)).toEqual(names(adapter));
  });
});
