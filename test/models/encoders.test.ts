// Every encoder family's tiny checkpoint against the PyTorch port of its modeling file (scripts/reference/
// encoder_ref.py): hidden states at every position (padding included) within 1e-4, and with a PEFT SEQ_CLS adapter
// the classification logits with and without LoRA, the loss (plain and class-weighted), every LoRA and head
// gradient, and a 3-step AdamW trajectory.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadEncoder } from '../../src/models/encoder-load.js';
import type { EncoderInput, EncoderModel } from '../../src/models/encoder-types.js';
import { loadSeqClsAdapter } from '../../src/lora/seq-cls.js';
import { backward, classCrossEntropy, noGrad, type Tensor } from '../../src/tensor/index.js';
import { AdamW, type NamedParam } from '../../src/train/optimizer.js';

const FIX = join(import.meta.dirname, '..', 'fixtures');

interface Golden {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  hidden_shape: number[];
  hidden: number[];
}

interface LoraGolden {
  labels: number[];
  class_weights: number[];
  logits_head_only: number[];
  logits: number[];
  loss: number;
  loss_weighted: number;
  grads: Record<string, number[]>;
  trajectory: { optimizer: { lr: number; betas: [number, number]; eps: number; weight_decay: number }; steps: number; losses: number[] };
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function batchOf(g: Golden): EncoderInput {
  return {
    ids: Int32Array.from(g.input_ids.flat()), mask: Int32Array.from(g.attention_mask.flat()), typeIds: Int32Array.from(g.token_type_ids.flat()),
    batch: g.input_ids.length, seqLen: g.input_ids[0].length,
  };
}

/** The adapter's trainable tensors: LoRA factors and the head's trained weights, under PEFT's names. */
function trainable(model: EncoderModel, lora: ReturnType<typeof loadSeqClsAdapter>): NamedParam[] {
  const head = (model.head ?? []).filter((p) => p.trained).flatMap((p) => p.weights)
    .map((w) => ({ name: `base_model.model.${w.name}`, tensor: w.tensor, decay: !w.name.endsWith('.bias') }));
  const params = [...lora.params(), ...head];
  for (const p of params) p.tensor.requiresGrad = true;
  return params;
}

describe.each(['bert-enc-tiny', 'xlmr-enc-tiny', 'modernbert-enc-tiny'])('%s matches the PyTorch reference', (name) => {
  const dir = join(FIX, name);
  const g = readJson<Golden>(join(dir, 'golden.json'));
  const input = batchOf(g);

  it('hidden states at every position within 1e-4', () => {
    const { model } = loadEncoder(dir);
    const h = noGrad(() => model.encode(input));
    expect([...h.shape]).toEqual(g.hidden_shape);
    const d = maxDiff(h.data, g.hidden);
    console.log(`${name} hidden max |diff| ${d.toExponential(2)}`);
    expect(d).toBeLessThan(1e-4);
  });

  describe('with its SEQ_CLS adapter', () => {
    const lg = readJson<LoraGolden>(join(FIX, `${name}-lora`, 'lora_golden.json'));
    const K = lg.class_weights.length;
    const load = () => {
      const { model } = loadEncoder(dir, { numLabels: K });
      const lora = loadSeqClsAdapter(join(FIX, `${name}-lora`), model);
      return { model, lora };
    };

    it('logits with and without LoRA, plain and weighted loss', () => {
      const { model, lora } = load();
      const logits = noGrad(() => model.classify(input));
      expect(maxDiff(logits.data, lg.logits)).toBeLessThan(1e-4);
      const labels = Int32Array.from(lg.labels);
      expect(Math.abs(noGrad(() => classCrossEntropy(logits, labels)).item() - lg.loss)).toBeLessThan(1e-5);
      const w = Float32Array.from(lg.class_weights);
      expect(Math.abs(noGrad(() => classCrossEntropy(logits, labels, w)).item() - lg.loss_weighted)).toBeLessThan(1e-5);
      lora.detach();
      expect(maxDiff(noGrad(() => model.classify(input)).data, lg.logits_head_only)).toBeLessThan(1e-4);
    });

    it('every LoRA and head gradient within 1e-4 of its largest entry', () => {
      const { model, lora } = load();
      const params = trainable(model, lora);
      backward(classCrossEntropy(model.classify(input), Int32Array.from(lg.labels)));
      const names = params.map((p) => p.name).sort();
      expect(names).toEqual(Object.keys(lg.grads).sort());
      for (const p of params) {
        const want = lg.grads[p.name];
        const scale = Math.max(...want.map(Math.abs), 1e-6);
        expect(maxDiff((p.tensor.grad as Tensor).data, want) / scale, p.name).toBeLessThan(1e-4);
      }
    });

    it('3-step AdamW trajectory (biases without weight decay) within 1e-4', () => {
      const { model, lora } = load();
      const o = lg.trajectory.optimizer;
      const opt = new AdamW(trainable(model, lora), { lr: o.lr, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weight_decay });
      const losses: number[] = [];
      for (let s = 0; s < lg.trajectory.steps; s++) {
        opt.zeroGrad();
        const loss = classCrossEntropy(model.classify(input), Int32Array.from(lg.labels));
        losses.push(loss.item());
        backward(loss);
        opt.update(o.lr);
      }
      expect(maxDiff(losses, lg.trajectory.losses)).toBeLessThan(1e-4);
    });
  });
});
