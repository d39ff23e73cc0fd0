// A GGUF v3 reader for checking what the exporter wrote: metadata values, tensor infos and each tensor's
// raw bytes (decode them with gguf-dequant.ts). Reads the header from the file and tensor data on demand.
import fs from 'node:fs';
import { ShitateError } from '../errors.js';
import { GGUF_ALIGNMENT, GgufValueType as T } from './gguf-writer.js';
import { tensorBytes, type GgmlType } from './gguf-types.js';

export type GgufReadValue = number | bigint | boolean | string | (number | bigint | boolean | string)[];

export interface GgufTensorInfo {
  name: string;
  ne: number[];
  type: GgmlType;
  /** absolute byte offset of the data in the file */
  offset: number;
  bytes: number;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, GgufReadValue>;
  tensors: GgufTensorInfo[];
  /** the raw bytes of one tensor */
  read(name: string): Uint8Array;
}

class Cursor {
  p = 0;
  constructor(private readonly b: Buffer, private readonly file: string) {}

  need(n: number): void {
    if (this.p + n > this.b.length) throw new ShitateError('E_GGUF', `${this.file}: expected more header bytes at offset ${this.p}, found the end of the file`, 'the file is truncated');
  }
  u8(): number { this.need(1); return this.b.readUInt8(this.p++); }
  u32(): number { this.need(4); const v = this.b.readUInt32LE(this.p); this.p += 4; return v; }
  u64(): number { this.need(8); const v = Number(this.b.readBigUInt64LE(this.p)); this.p += 8; return v; }
  str(): string {
    const n = this.u64();
    this.need(n);
    const s = this.b.toString('utf8', this.p, this.p + n);
    this.p += n;
    return s;
  }
}

function scalar(c: Cursor, t: number, b: Buffer): number | bigint | boolean | string {
  const at = c.p;
  switch (t) {
    case T.U8: return c.u8();
    case T.I8: c.need(1); c.p += 1; return b.readInt8(at);
    case T.U16: c.need(2); c.p += 2; return b.readUInt16LE(at);
    case T.I16: c.need(2); c.p += 2; return b.readInt16LE(at);
    case T.U32: return c.u32();
    case T.I32: c.need(4); c.p += 4; return b.readInt32LE(at);
    case T.F32: c.need(4); c.p += 4; return b.readFloatLE(at);
    case T.BOOL: return c.u8() !== 0;
    case T.STRING: return c.str();
    case T.U64: c.need(8); c.p += 8; return b.readBigUInt64LE(at);
    case T.I64: c.need(8); c.p += 8; return b.readBigInt64LE(at);
    case T.F64: c.need(8); c.p += 8; return b.readDoubleLE(at);
  }
  throw new ShitateError('E_GGUF', `unknown GGUF value type ${t} at offset ${at}`, 'the file is not a GGUF this reader understands');
}

/** Opens a GGUF file (the whole file is read into memory: meant for checks and tests). */
export function readGguf(file: string): GgufFile {
  const b = fs.readFileSync(file);
  const c = new Cursor(b, file);
  if (b.length < 4 || c.u32() !== 0x46554747) throw new ShitateError('E_GGUF', `${file}: expected the GGUF magic, found other bytes`, 'pass a .gguf file');
  const version = c.u32();
  const nTensors = c.u64();
  const nKv = c.u64();
  const metadata = new Map<string, GgufReadValue>();
  for (let i = 0; i < nKv; i++) {
    const key = c.str();
    const t = c.u32();
    if (t === T.ARRAY) {
      const it = c.u32();
      const n = c.u64();
      const arr: (number | bigint | boolean | string)[] = new Array(n);
      for (let j = 0; j < n; j++) arr[j] = scalar(c, it, b);
      metadata.set(key, arr);
    } else {
      metadata.set(key, scalar(c, t, b));
    }
  }
  const infos: Omit<GgufTensorInfo, 'bytes'>[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = c.str();
    const nd = c.u32();
    const ne = Array.from({ length: nd }, () => c.u64());
    const type = c.u32() as GgmlType;
    infos.push({ name, ne, type, offset: c.u64() });
  }
  const align = Number(metadata.get('general.alignment') ?? GGUF_ALIGNMENT);
  const dataStart = Math.ceil(c.p / align) * align;
  const tensors = infos.map((t) => ({ ...t, offset: dataStart + t.offset, bytes: tensorBytes(t.type, t.ne) }));
  const byName = new Map(tensors.map((t) => [t.name, t]));
  return {
    version,
    metadata,
    tensors,
    read(name) {
      const t = byName.get(name);
      if (!t) throw new ShitateError('E_GGUF', `${file}: no tensor named ${name}`, `it has: ${tensors.slice(0, 6).map((x) => x.name).join(', ')}, ...`);
      return new Uint8Array(b.buffer, b.byteOffset + t.offset, t.bytes);
    },
  };
}
