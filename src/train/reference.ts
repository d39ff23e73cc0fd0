// The reference policy of DPO/KTO without a second model: the same weights with the LoRA adapters switched off
// (training from the base), or with a frozen copy of the starting adapter in their place (continuing from an
// adapter, as TRL's "ref" adapter does). Its log-probabilities are computed per batch with no graph kept.
import { Tensor, noGrad } from '../tensor/index.js';
import type { CausalLM, ForwardInput, Linear } from '../models/index.js';
import { LoraLayer, type LoraSet } from '../lora/index.js';
import { ShitateError } from '../errors.js';
import type { MicroBatch } from './batching.js';

/** Summed target log-probabilities per row of a batch [B]; with grad when the caller records. */
export function sequenceLogps(model: CausalLM, mb: MicroBatch): Tensor {
  const input: ForwardInput = { ids: mb.ids, batch: mb.B, seqLen: mb.T, targets: mb.targets, sequenceLogps: true };
  const out = model.forward(input).sequenceLogps;
  if (!out) {
    throw new ShitateError('E_UNSUPPORTED', `preference training: model_type ${model.config.modelType} does not score sequences yet`,
      'train this model with --method lora (supervised), or pick a model family whose forward pass scores sequences (most do: llama, qwen, gemma, phi3, ...)');
  }
  return out;
}

export class ReferencePolicy {
  /** by target linear name: the frozen starting adapter, or absent (adapters off) */
  private readonly frozen: Map<string, LoraLayer> | null;

  private constructor(private readonly lora: LoraSet, frozen: Map<string, LoraLayer> | null) {
    this.frozen = frozen;
  }

  /** The base model: every adapter switched off. */
  static base(lora: LoraSet): ReferencePolicy {
    return new ReferencePolicy(lora, null);
  }

  /** The adapters as they are now, copied and frozen (call before training changes them). */
  static frozenCopy(lora: LoraSet): ReferencePolicy {
    const frozen = new Map<string, LoraLayer>();
    for (const [name, l] of lora.layers) {
      const A = Tensor.from(l.A.data.slice(), [...l.A.shape]);
      const B = Tensor.from(l.B.data.slice(), [...l.B.shape]);
      frozen.set(name, new LoraLayer(l.target, A, B, l.scaling, 0));
    }
    return new ReferencePolicy(lora, frozen);
  }

  get kind(): 'base' | 'adapter' {
    return this.frozen ? 'adapter' : 'base';
  }

  /** The reference's summed target log-probabilities per row; the policy's adapters are back afterwards. */
  logps(model: CausalLM, mb: MicroBatch): Float32Array {
    const saved: [Linear, LoraLayer][] = [];
    for (const [name, l] of this.lora.layers) {
      saved.push([l.target, l]);
      l.target.adapter = this.frozen?.get(name) ?? null;
    }
    try {
      return noGrad(() => sequenceLogps(model, mb)).data;
    } finally {
      for (const [lin, l] of saved) lin.adapter = l;
    }
  }
}
