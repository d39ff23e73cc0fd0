// AdamW over a named parameter list with state that can be saved and restored exactly, and gradient
// clipping by global norm (torch.nn.utils.clip_grad_norm_ semantics).
import { adamwUpdateMany, releaseGrad, type AdamWSlot, type Tensor } from '../tensor/index.js';
import { kernels } from '../kernels/index.js';
import { ShitateError } from '../errors.js';

export interface NamedParam {
  name: string;
  tensor: Tensor;
  /** false: no weight decay on this tensor (biases and LayerNorm weights, as transformers' Trainer groups them) */
  decay?: boolean;
}

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export class AdamW {
  readonly params: NamedParam[];
  readonly m: Float32Array[];
  readonly v: Float32Array[];
  /** optimizer steps taken so far */
  step = 0;
  opts: AdamWOptions;

  constructor(params: NamedParam[], opts: AdamWOptions) {
    this.params = params;
    this.opts = opts;
    this.m = params.map((p) => new Float32Array(p.tensor.size));
    this.v = params.map((p) => new Float32Array(p.tensor.size));
  }

  /** Every gradient to none (their buffers kept for the next backward: releaseGrad). */
  zeroGrad(): void {
    for (const p of this.params) releaseGrad(p.tensor);
  }

  /** One update with the given learning rate (every parameter in one kernel call). */
  update(lr: number): void {
    this.step++;
    const slots: AdamWSlot[] = this.params.map((p, i) => ({ param: p.tensor, m: this.m[i], v: this.v[i], decay: p.decay }));
    adamwUpdateMany(slots, { ...this.opts, lr }, this.step);
  }

  /** Global L2 norm of all gradients; scales them down to maxNorm when above it. Returns the norm before. */
  clipGradNorm(maxNorm: number): number {
    const K = kernels();
    // the gradients in one call each, shared over the threads (the same numbers as one sumSquares / scale per tensor)
    const withGrad = this.params.filter((p) => p.tensor.grad);
    const grads = withGrad.map((p) => p.tensor.grad!.data);
    const sizes = Int32Array.from(withGrad, (p) => p.tensor.size);
    const norm = Math.sqrt(K.sumSquaresMany(grads, sizes, grads.length));
    if (maxNorm > 0 && norm > maxNorm) K.scaleMany(grads, sizes, grads.length, maxNorm / (norm + 1e-6));
    return norm;
  }

  /** Moments by parameter name (for checkpoints). */
  stateTensors(): { name: string; data: Float32Array }[] {
    return this.params.flatMap((p, i) => [
      { name: `${p.name}.exp_avg`, data: this.m[i] },
      { name: `${p.name}.exp_avg_sq`, data: this.v[i] },
    ]);
  }

  loadState(step: number, read: (name: string) => Float32Array | undefined): void {
    this.params.forEach((p, i) => {
      for (const [suffix, dst] of [['exp_avg', this.m[i]], ['exp_avg_sq', this.v[i]]] as const) {
        const src = read(`${p.name}.${suffix}`);
        if (!src || src.length !== dst.length) {
          throw new ShitateError('E_RESUME', `optimizer state for ${p.name}.${suffix}: expected ${dst.length} values, found ${src ? src.length : 'none'}`,
            'the checkpoint belongs to a different model or LoRA configuration; resume with the same settings or start a new run');
        }
        dst.set(src);
      }
    });
    this.step = step;
  }
}
