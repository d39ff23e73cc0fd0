// Shared helpers for ops: fresh outputs, the debug finite check, and shape guards.
import { Tensor } from '../tensor.js';
import { ShitateError } from '../../errors.js';
import { checkShapeValid, fmtShape, numel, type Shape } from '../shape.js';
import { takeBuffer, takeZeroed } from '../pool.js';

let checkFinite = process.env.SHITATE_CHECK_FINITE === '1';

/** Debug mode: every op checks its inputs and outputs for NaN/Inf (also SHITATE_CHECK_FINITE=1). */
export function setCheckFinite(on: boolean): void {
  checkFinite = on;
}

/** A zeroed op output (from the step pool inside a training step). */
export function empty(shape: Shape): Tensor {
  checkShapeValid(shape, 'Tensor.zeros');
  return Tensor.from(takeZeroed(numel(shape)), shape);
}

/** An op output whose every element the op's kernel writes: not zeroed first. */
export function uninit(shape: Shape): Tensor {
  checkShapeValid(shape, 'Tensor.zeros');
  return Tensor.from(takeBuffer(numel(shape)), shape);
}

/** Scratch floats for an op (saved statistics, temporaries), contents arbitrary; pooled inside a step. */
export function scratch(n: number): Float32Array {
  return takeBuffer(n);
}

/** Zeroed scratch floats; pooled inside a step. */
export function zeroed(n: number): Float32Array {
  return takeZeroed(n);
}

/** With SHITATE_CHECK_FINITE=1, every op checks its inputs and output and names the first NaN/Inf. */
export function finite(op: string, tensors: Record<string, Tensor | null | undefined>): void {
  if (!checkFinite) return;
  for (const [name, t] of Object.entries(tensors)) {
    if (!t) continue;
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) {
        throw new ShitateError('E_NONFINITE', `${op}: ${name} ${fmtShape(t.shape)} holds ${d[i]} at flat index ${i}`,
          'lower the learning rate, check the input data, or enable gradient clipping');
      }
    }
  }
}

export function nonEmptyLast(op: string, t: Tensor, what: string): number {
  const c = t.shape.length ? t.shape[t.shape.length - 1] : 1;
  if (c === 0 || t.shape.length === 0) {
    throw new ShitateError('E_SHAPE', `${op}: ${what} ${fmtShape(t.shape)} must have a non-empty last dimension`,
      'check the tensor shapes passed to this op');
  }
  return c;
}
