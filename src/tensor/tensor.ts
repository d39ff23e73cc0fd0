// Tensor: a shape over contiguous row-major float32 storage, plus the autograd fields (requiresGrad,
// grad, and the tape entry that produced it). Ops live in ops/; the tape in tape.ts.
import { CpuStorage, type Storage } from './storage.js';
import { checkShapeValid, fmtShape, numel, type Shape } from './shape.js';
import { ShitateError } from '../errors.js';

export class Tensor {
  readonly shape: Shape;
  readonly storage: Storage;
  /** leaf parameters set this; op outputs inherit it from their inputs while grad mode is on */
  requiresGrad: boolean;
  /** accumulated gradient, same shape; allocated lazily by backward */
  grad: Tensor | null = null;
  /** optional name for error messages (e.g. the HF parameter name) */
  name: string | undefined;

  constructor(storage: Storage, shape: Shape, requiresGrad = false) {
    checkShapeValid(shape, 'Tensor');
    if (numel(shape) !== storage.size) {
      throw new ShitateError('E_SHAPE', `Tensor: shape ${fmtShape(shape)} needs ${numel(shape)} elements, storage has ${storage.size}`,
        'reshape to a shape whose product equals the element count');
    }
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.requiresGrad = requiresGrad;
  }

  static zeros(shape: Shape, requiresGrad = false): Tensor {
    checkShapeValid(shape, 'Tensor.zeros');
    return new Tensor(CpuStorage.alloc(numel(shape)), shape, requiresGrad);
  }

  /** Wraps (does not copy) a Float32Array; copies a plain number array. */
  static from(data: Float32Array | readonly number[], shape?: Shape, requiresGrad = false): Tensor {
    const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
    return new Tensor(new CpuStorage(f32), shape ?? [f32.length], requiresGrad);
  }

  static scalar(x: number): Tensor {
    return Tensor.from(Float32Array.of(x), []);
  }

  get data(): Float32Array {
    return this.storage.f32;
  }

  get size(): number {
    return this.storage.size;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new ShitateError('E_SHAPE', `item(): expected a one-element tensor, found shape ${fmtShape(this.shape)}`, 'reduce the tensor first (e.g. sum or mean)');
    }
    return this.data[0];
  }

  toArray(): number[] {
    return Array.from(this.data);
  }

  /** Independent copy of the data (no autograd history). */
  clone(): Tensor {
    return new Tensor(new CpuStorage(this.data.slice()), this.shape, false);
  }

  /** Zero-copy tensor over the same storage, cut from the autograd graph. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, false);
  }

  toString(): string {
    return `Tensor${this.name ? ` ${this.name}` : ''} ${fmtShape(this.shape)}`;
  }
}
