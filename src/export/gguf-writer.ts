// GGUF v3 writer: header, metadata key/values, tensor infos, then each tensor's bytes at an offset aligned to
// general.alignment (32). Tensor data is produced one tensor at a time while writing, so peak memory is one
// tensor; the file appears under its name only when complete (temp file + rename).
import { writeAll, withAtomicFile } from '../io/atomic.js';
import { assert } from '../errors.js';
import { tensorBytes, type GgmlType } from './gguf-types.js';

/** gguf_type ids of metadata values (gguf.h). */
export const GgufValueType = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 } as const;

export type GgufScalar =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string };

export type GgufValue =
  | GgufScalar
  | { type: 'strings'; value: readonly string[] }
  | { type: 'i32s'; value: ArrayLike<number> }
  | { type: 'f32s'; value: ArrayLike<number> };

export type GgufMetadata = [key: string, value: GgufValue][];

export interface GgufTensor {
  name: string;
  /** GGUF dimension order: ne[0] is the row width (the last dimension of the PyTorch shape) */
  ne: number[];
  type: GgmlType;
  /** the tensor's bytes, computed when the writer reaches it */
  data(): Uint8Array;
}

export const GGUF_ALIGNMENT = 32;

/** A growable little-endian byte buffer for the header. */
class Bytes {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }

  i32(v: number): void {
    this.room(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }

  f32(v: number): void {
    this.room(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }

  u64(v: number): void {
    this.room(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.length++] = v;
  }

  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  pad(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    this.room(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

function writeValue(b: Bytes, v: GgufValue): void {
  const T = GgufValueType;
  const array = (type: number, n: number) => {
    b.u32(T.ARRAY);
    b.u32(type);
    b.u64(n);
  };
  switch (v.type) {
    case 'u32': b.u32(T.U32); b.u32(v.value); return;
    case 'i32': b.u32(T.I32); b.i32(v.value); return;
    case 'f32': b.u32(T.F32); b.f32(v.value); return;
    case 'bool': b.u32(T.BOOL); b.u8(v.value ? 1 : 0); return;
    case 'string': b.u32(T.STRING); b.string(v.value); return;
    case 'strings': array(T.STRING, v.value.length); for (const s of v.value) b.string(s); return;
    case 'i32s': array(T.I32, v.value.length); for (let i = 0; i < v.value.length; i++) b.i32(v.value[i]); return;
    case 'f32s': array(T.F32, v.value.length); for (let i = 0; i < v.value.length; i++) b.f32(v.value[i]); return;
  }
}

/** Header, metadata and tensor infos (offsets relative to the aligned data section), padded to alignment. */
export function ggufHeader(meta: GgufMetadata, tensors: readonly Pick<GgufTensor, 'name' | 'ne' | 'type'>[]): Uint8Array {
  const b = new Bytes();
  b.u32(0x46554747); // "GGUF"
  b.u32(3);
  b.u64(tensors.length);
  b.u64(meta.length);
  for (const [key, value] of meta) {
    b.string(key);
    writeValue(b, value);
  }
  let offset = 0;
  for (const t of tensors) {
    b.string(t.name);
    b.u32(t.ne.length);
    for (const d of t.ne) b.u64(d);
    b.u32(t.type);
    b.u64(offset);
    offset += tensorBytes(t.type, t.ne);
    offset += (GGUF_ALIGNMENT - (offset % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT;
  }
  b.pad(GGUF_ALIGNMENT);
  return b.bytes();
}

export interface WriteProgress {
  (done: number, total: number, name: string): void;
}

/** Writes the whole GGUF to `file` atomically; each tensor's data() is checked against its declared size. */
export function writeGguf(file: string, meta: GgufMetadata, tensors: readonly GgufTensor[], progress?: WriteProgress): void {
  withAtomicFile(file, (fd) => {
    writeAll(fd, ggufHeader(meta, tensors));
    const zeros = new Uint8Array(GGUF_ALIGNMENT);
    tensors.forEach((t, i) => {
      const data = t.data();
      const expected = tensorBytes(t.type, t.ne);
      assert(data.byteLength === expected, `tensor ${t.name}: produced ${data.byteLength} bytes, expected ${expected}`);
      writeAll(fd, data);
      const pad = (GGUF_ALIGNMENT - (expected % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT;
      if (pad) writeAll(fd, zeros.subarray(0, pad));
      progress?.(i + 1, tensors.length, t.name);
    });
  });
}
