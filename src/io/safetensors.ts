// safetensors read/write without holding a second copy of a file: tensors are read one at a time straight
// into their float32 destination (bf16/f16 go through a small reusable chunk), and writes stream tensor by
// tensor into a temp file that is renamed into place. Format reference: github.com/huggingface/safetensors.
import fs from 'node:fs';
import os from 'node:os';
import { ShitateError, assert } from '../errors.js';
import { kernels } from '../kernels/index.js';
import { withAtomicFile, writeAll } from './atomic.js';
import {
  MAX_HEADER_BYTES, isFloatDtype, numelOf, parseHeader, FLOAT_DTYPES,
  type FloatDtype, type TensorInfo,
} from './safetensors-header.js';

export type { Dtype, FloatDtype, TensorInfo } from './safetensors-header.js';

/** An open safetensors file: the parsed header and tensor-by-tensor float32 reads. */
export interface SafetensorsFile {
  readonly path: string;
  readonly header: Map<string, TensorInfo>;
  readonly metadata: Record<string, string>;
  /** Reads tensor `name` as float32 into `out` (allocated when omitted; must have exactly numel elements). */
  readF32(name: string, out?: Float32Array): Float32Array;
  close(): void;
}

export interface TensorToWrite {
  name: string;
  shape: number[];
  dtype: FloatDtype;
  data: Float32Array; // [numel(shape)], row-major
}

/** Elements converted per chunk: 1 Mi halves = 2 MiB of scratch, small next to any real tensor. */
const CHUNK = 1 << 20;
/** readSync/writeSync refuse single calls past 2 GiB; larger tensors are moved in pieces of this size. */
const MAX_IO = 1 << 30;
let scratch: Uint16Array | null = null;

function scratchChunk(): Uint16Array {
  if (!scratch) scratch = new Uint16Array(CHUNK);
  return scratch;
}

// The format is little-endian and tensors are read straight into typed arrays, which use host order.
function requireLittleEndian(): void {
  if (os.endianness() !== 'LE') {
    throw new ShitateError('E_PLATFORM', `expected a little-endian CPU for safetensors I/O, found ${os.endianness()}`,
      'run shitate on an x86-64 or arm64 machine');
  }
}

/** Opens `file`, reads and validates its header, and keeps the descriptor for tensor reads. */
export function openSafetensors(file: string): SafetensorsFile {
  requireLittleEndian();
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new ShitateError('E_NOT_FOUND', `expected a safetensors file at ${file}, found ${(err as NodeJS.ErrnoException).code ?? 'an error'}`,
      'check the model folder path; it must hold model.safetensors or model.safetensors.index.json with its shards');
  }
  try {
    const { tensors, metadata } = readHeader(file, fd);
    return makeHandle(file, fd, tensors, metadata);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

function readHeader(file: string, fd: number): ReturnType<typeof parseHeader> {
  const size = fs.fstatSync(fd).size;
  const redownload = 'the download may be incomplete; re-download this file';
  if (size < 8) {
    throw new ShitateError('E_SAFETENSORS_TRUNCATED',
      `${file}: expected at least 8 bytes (the header length), found a file of ${size} bytes`, redownload);
  }
  const lenBytes = new Uint8Array(8);
  readExact(file, fd, lenBytes, 0);
  const n = Number(Buffer.from(lenBytes.buffer).readBigUInt64LE(0));
  if (n > MAX_HEADER_BYTES || 8 + n > size) {
    throw new ShitateError('E_SAFETENSORS_TRUNCATED',
      `${file}: expected a ${n}-byte JSON header after the 8-byte length (${8 + n} bytes in all), ` +
      `found a file of ${size} bytes`, n > MAX_HEADER_BYTES ? 'this is not a safetensors file, or it is corrupt; re-download it' : redownload);
  }
  const headerBytes = new Uint8Array(n);
  readExact(file, fd, headerBytes, 8);
  let json: string;
  try {
    json = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new ShitateError('E_SAFETENSORS_HEADER', `${file}: expected a UTF-8 JSON header, found invalid UTF-8 bytes`, redownload);
  }
  return parseHeader(file, json, 8 + n, size);
}

function makeHandle(file: string, fd: number, header: Map<string, TensorInfo>, metadata: Record<string, string>): SafetensorsFile {
  let open = true;
  return {
    path: file,
    header,
    metadata,
    readF32(name: string, out?: Float32Array): Float32Array {
      assert(open, `readF32("${name}") on closed safetensors file ${file}`);
      const info = header.get(name);
      if (!info) {
        throw new ShitateError('E_TENSOR_MISSING', `${file}: expected a tensor named "${name}", found none (${header.size} tensors in the file)`,
          'the checkpoint does not match the model architecture in config.json, or a shard is from another model');
      }
      return readTensor(file, fd, name, info, out);
    },
    close(): void {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}

function readTensor(file: string, fd: number, name: string, info: TensorInfo, out?: Float32Array): Float32Array {
  if (!isFloatDtype(info.dtype)) {
    throw new ShitateError('E_SAFETENSORS_DTYPE',
      `${file}: tensor "${name}": expected one of ${FLOAT_DTYPES.join(', ')} to load as float32, found ${info.dtype}`,
      'integer and 8-bit float tensors are not model weights shitate can load; convert the checkpoint to bf16, f16 or f32');
  }
  const n = numelOf(info.shape);
  const dst = out ?? new Float32Array(n);
  if (dst.length !== n) {
    throw new ShitateError('E_SHAPE', `${file}: tensor "${name}" has shape [${info.shape.join(', ')}] (${n} elements); ` +
      `expected a destination of ${n} elements, found ${dst.length}`, 'the checkpoint does not match the model configuration');
  }
  if (info.dtype === 'F32') {
    readExact(file, fd, new Uint8Array(dst.buffer, dst.byteOffset, n * 4), info.begin);
    return dst;
  }
  const buf = scratchChunk();
  const k = kernels();
  const convert = info.dtype === 'BF16' ? k.bf16ToF32.bind(k) : k.f16ToF32.bind(k);
  for (let done = 0; done < n; done += CHUNK) {
    const m = Math.min(CHUNK, n - done);
    readExact(file, fd, new Uint8Array(buf.buffer, 0, m * 2), info.begin + done * 2);
    convert(dst.subarray(done, done + m), buf, m);
  }
  return dst;
}

/** Fills `bytes` from `position`, in pieces readSync accepts; a short read means the file shrank. */
function readExact(file: string, fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.byteLength) {
    const want = Math.min(MAX_IO, bytes.byteLength - done);
    const got = fs.readSync(fd, bytes, done, want, position + done);
    if (got === 0) {
      throw new ShitateError('E_SAFETENSORS_TRUNCATED',
        `${file}: expected ${bytes.byteLength} bytes at offset ${position}, found only ${done} before the end of the file`,
        'the file changed or was truncated while being read; re-download it');
    }
    done += got;
  }
}

/**
 * Writes `tensors` (converted to their dtype) and optional string metadata to `file` atomically: names
 * sorted, data contiguous in that order, header padded with spaces to a multiple of 8 bytes.
 */
export function writeSafetensors(file: string, tensors: TensorToWrite[], metadata?: Record<string, string>): void {
  requireLittleEndian();
  const sorted = validateForWrite(file, tensors);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of sorted) {
    const bytes = t.data.length * (t.dtype === 'F32' ? 4 : 2);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const len = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (len % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const lenBytes = Buffer.alloc(8);
  lenBytes.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  withAtomicFile(file, (fd) => {
    writeAll(fd, lenBytes);
    writeAll(fd, headerBytes);
    for (const t of sorted) writeTensor(fd, t);
  });
}

function writeTensor(fd: number, t: TensorToWrite): void {
  if (t.dtype === 'F32') {
    for (let done = 0; done < t.data.byteLength; done += MAX_IO) {
      const m = Math.min(MAX_IO, t.data.byteLength - done);
      writeAll(fd, new Uint8Array(t.data.buffer, t.data.byteOffset + done, m));
    }
    return;
  }
  const buf = scratchChunk();
  const k = kernels();
  const convert = t.dtype === 'BF16' ? k.f32ToBf16.bind(k) : k.f32ToF16.bind(k);
  for (let done = 0; done < t.data.length; done += CHUNK) {
    const m = Math.min(CHUNK, t.data.length - done);
    convert(buf, t.data.subarray(done, done + m), m);
    writeAll(fd, new Uint8Array(buf.buffer, 0, m * 2));
  }
}

function validateForWrite(file: string, tensors: TensorToWrite[]): TensorToWrite[] {
  const seen = new Set<string>();
  for (const t of tensors) {
    const where = `${file}: tensor "${t.name}"`;
    if (t.name === '' || t.name === '__metadata__' || seen.has(t.name)) {
      throw new ShitateError('E_SAFETENSORS_WRITE', `${where}: expected a unique, non-empty name other than "__metadata__", found a clash`,
        'give every tensor its own name');
    }
    seen.add(t.name);
    if (!isFloatDtype(t.dtype)) {
      throw new ShitateError('E_SAFETENSORS_WRITE', `${where}: expected dtype ${FLOAT_DTYPES.join(', ')}, found ${String(t.dtype)}`,
        'write float tensors as F32, F16 or BF16');
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || numelOf(t.shape) !== t.data.length) {
      throw new ShitateError('E_SAFETENSORS_WRITE',
        `${where}: expected ${numelOf(t.shape)} elements for shape [${t.shape.join(', ')}], found ${t.data.length}`,
        'the shape and the data length must agree');
    }
  }
  return [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
