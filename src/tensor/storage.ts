// Where a tensor's numbers live. Only CPU float32 today; kept behind this interface so a GPU buffer can
// replace it without touching ops that only pass storages to kernels.

export interface Storage {
  readonly device: 'cpu';
  /** element count */
  readonly size: number;
  /** the float32 view kernels read and write in place (zero copy) */
  readonly f32: Float32Array;
}

export class CpuStorage implements Storage {
  readonly device = 'cpu' as const;
  readonly f32: Float32Array;

  constructor(data: Float32Array) {
    this.f32 = data;
  }

  get size(): number {
    return this.f32.length;
  }

  static alloc(size: number): CpuStorage {
    return new CpuStorage(new Float32Array(size));
  }
}
