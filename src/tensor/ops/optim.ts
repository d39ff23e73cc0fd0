// The fused AdamW parameter update (not an autograd op: it mutates a parameter from its gradient).
import { Tensor } from '../tensor.js';
import { kernels } from '../../kernels/index.js';
import { ShitateError } from '../../errors.js';

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** One step on `param` using param.grad and the moment buffers m, v (same size). step counts from 1. */
export function adamwUpdate(param: Tensor, m: Float32Array, v: Float32Array, h: AdamWHyper, step: number): void {
  if (!param.grad) return; // no gradient reached this parameter
  if (m.length !== param.size || v.length !== param.size) {
    throw new ShitateError('E_SHAPE', `adamw: moments of ${m.length}/${v.length} elements for a parameter of ${param.size}`,
      'optimizer state does not belong to this model; start a fresh run or resume from the matching checkpoint');
  }
  if (!(step >= 1)) throw new ShitateError('E_CONFIG', `adamw: step must start at 1, found ${step}`, 'count optimizer steps from 1');
  kernels().adamw(param.data, param.grad.data, m, v, param.size, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, step);
}
