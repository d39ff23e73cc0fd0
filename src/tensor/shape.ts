// Shape arithmetic and readable shape errors ("matmul: a [2, 3] and b [4, 5]: expected ...").
import { ShitateError } from '../errors.js';

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function fmtShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function checkShapeValid(shape: Shape, where: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShitateError('E_SHAPE', `${where}: invalid shape ${fmtShape(shape)}: expected non-negative integer dimensions`,
        'check the dimensions passed to the tensor constructor');
    }
  }
}

/** Throws E_SHAPE naming the op, the operand shapes, and what was expected. */
export function shapeError(op: string, operands: Record<string, Shape>, expected: string): ShitateError {
  const found = Object.entries(operands).map(([k, s]) => `${k} ${fmtShape(s)}`).join(', ');
  return new ShitateError('E_SHAPE', `${op}: got ${found}; expected ${expected}`,
    'this usually means a model config does not match its weights, or tensors were passed in the wrong order');
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Last dimension (1 for scalars) and the product of the leading ones. */
export function rowsCols(shape: Shape): [number, number] {
  if (shape.length === 0) return [1, 1];
  const cols = shape[shape.length - 1];
  return [cols === 0 ? 0 : numel(shape) / cols, cols];
}
