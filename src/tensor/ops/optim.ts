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

function checkAdamw(param: Tensor, m: Float32Array, v: Float32Array, step: number): void {
  if (m.length !== param.size || v.length !== param.size) {
    throw new ShitateError('E_SHAPE', `adamw: moments of ${m.length}/${v.length} elements for a parameter of ${param.size}`,
      'optimizer state does not belong to this model; start a fresh run or resume from the matching checkpoint');
  }
  if (!(step >= 1)) throw new ShitateError('E_CONFIG', `adamw: step must start at 1, found ${step}`, 'count optimizer steps from 1');
}

/** One step on `param` using param.grad and the moment buffers m, v (same size). step counts from 1. */
export function adamwUpdate(param: Tensor, m: Float32Array, v: Float32Array, h: AdamWHyper, step: number): void {
  if (!param.grad) return; // no gradient reached this parameter
  checkAdamw(param, m, v, step);
  kernels().adamw(param.data, param.grad.data, m, v, param.size, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, step);
}

/** A parameter with its moment buffers; decay false: no weight decay on it. */
export interface AdamWSlot {
  param: Tensor;
  m: Float32Array;
  v: Float32Array;
  decay?: boolean;
}

/** adamwUpdate on every slot whose parameter has a gradient, in one kernel call (all the parameters' elements
 *  shared over the threads: a LoRA adapter's hundreds of small tensors, each too small to split, are a few
 *  milliseconds a step on one core otherwise). The same numbers as one adamwUpdate per slot. */
export function adamwUpdateMany(slots: readonly AdamWSlot[], h: AdamWHyper, step: number): void {
  const live = slots.filter((s) => s.param.grad);
  for (const s of live) checkAdamw(s.param, s.m, s.v, step);
  const S = live.length;
  if (S === 0) return;
  const sizes = Int32Array.from(live, (s) => s.param.size);
  const decays = Int32Array.from(live, (s) => (s.decay === false ? 0 : 1));
  kernels().adamwMany(live.map((s) => s.param.data), live.map((s) => s.param.grad!.data), live.map((s) => s.m), live.map((s) => s.v),
    sizes, decays, S, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, step);
}
