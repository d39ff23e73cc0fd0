// A LoRA adapter on one linear layer (Hu et al. 2021, as PEFT implements it):
// y = W x + b + scaling * B(A(dropout(x))), A [R, in] small random, B [out, R] zero at init.
import { type Tensor, lowRankLinear, matmul, noGrad, weightChanged } from '../tensor/index.js';
import { kernels } from '../kernels/index.js';
import type { Linear, LinearAdapter, LowRankFactors } from '../models/index.js';

export class LoraLayer implements LinearAdapter {
  readonly target: Linear;
  readonly A: Tensor; // [R, in]
  readonly B: Tensor; // [out, R]
  scaling: number;
  dropout: number;
  /** dropout is applied only while training; the seed advances every forward for fresh masks */
  training = false;
  seed = 0;
  private fused = false;

  constructor(target: Linear, A: Tensor, B: Tensor, scaling: number, dropoutP: number) {
    this.target = target;
    this.A = A;
    this.B = B;
    this.scaling = scaling;
    this.dropout = dropoutP;
  }

  apply(x: Tensor, base: Linear): Tensor {
    const p = this.training ? this.dropout : 0;
    return lowRankLinear(x, base.weight, base.bias, { A: this.A, B: this.B, scale: this.scaling, dropout: p, seed: p > 0 ? this.seed++ : 0 });
  }

  /** The factors for batched decode; null while training (dropout is applied only through apply()). */
  lowRank(): LowRankFactors | null {
    return this.training || this.fused ? null : { A: this.A, B: this.B, scale: this.scaling };
  }

  /** W += scaling * B @ A (inference speed: no extra matmuls); the layer is detached meanwhile. */
  fuse(): void {
    if (this.fused) return;
    this.addDelta(1);
    this.fused = true;
    if (this.target.adapter === this) this.target.adapter = null;
  }

  /** Undo fuse(): W -= scaling * B @ A, and re-attach. */
  unfuse(): void {
    if (!this.fused) return;
    this.addDelta(-1);
    this.fused = false;
    this.target.adapter = this;
  }

  get isFused(): boolean {
    return this.fused;
  }

  private addDelta(sign: number): void {
    noGrad(() => {
      const delta = matmul(this.B, this.A); // [out, in]
      kernels().axpy(this.target.weight.data, delta.data, sign * this.scaling, delta.size);
      weightChanged(this.target.weight);
    });
  }
}
