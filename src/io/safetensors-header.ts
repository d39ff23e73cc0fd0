// safetensors header: the dtype table and the validation of the JSON header (names, dtypes, shapes and
// byte ranges). Format: 8-byte little-endian header length n, n bytes of JSON, then the data buffer.
// Reference: https://github.com/huggingface/safetensors (README, "Format").
import { ShitateError } from '../errors.js';

/** Every dtype the format defines, with its size in bytes. Only FLOAT_DTYPES load as float32. */
export const DTYPE_SIZES = {
  F64: 8, F32: 4, F16: 2, BF16: 2,
  I64: 8, I32: 4, I16: 2, I8: 1,
  U64: 8, U32: 4, U16: 2, U8: 1,
  BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
} as const;

export type Dtype = keyof typeof DTYPE_SIZES;
export type FloatDtype = 'F32' | 'F16' | 'BF16';
export const FLOAT_DTYPES: readonly FloatDtype[] = ['F32', 'F16', 'BF16'];

/** One tensor as the header describes it; begin/end are byte offsets into the file (header included). */
export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

/** The spec caps the JSON header at 100 MB; a larger length means a corrupt or non-safetensors file. */
export const MAX_HEADER_BYTES = 100_000_000;

const REDOWNLOAD = 'the download may be incomplete or the file corrupt; re-download this file';

export function isDtype(s: string): s is Dtype {
  return Object.prototype.hasOwnProperty.call(DTYPE_SIZES, s);
}

export function isFloatDtype(s: string): s is FloatDtype {
  return (FLOAT_DTYPES as readonly string[]).includes(s);
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Parses and validates the JSON header of `file`. `dataStart` is 8 + header length and `fileSize` the
 * file's size in bytes; the returned begin/end are absolute file offsets.
 */
export function parseHeader(file: string, json: string, dataStart: number, fileSize: number): SafetensorsHeader {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new ShitateError('E_SAFETENSORS_HEADER',
      `${file}: expected a JSON header after the 8-byte length, found invalid JSON (${(err as Error).message})`,
      REDOWNLOAD);
  }
  if (!isRecord(parsed)) {
    throw new ShitateError('E_SAFETENSORS_HEADER',
      `${file}: expected the header to be a JSON object, found ${describe(parsed)}`, REDOWNLOAD);
  }
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(parsed)) {
    if (name === '__metadata__') metadata = parseMetadata(file, entry);
    else tensors.set(name, parseEntry(file, name, entry, dataStart, fileSize));
  }
  checkOverlaps(file, tensors);
  return { tensors, metadata };
}

function parseMetadata(file: string, entry: unknown): Record<string, string> {
  if (entry === null) return {};
  if (!isRecord(entry)) {
    throw new ShitateError('E_SAFETENSORS_HEADER',
      `${file}: expected "__metadata__" to be an object of strings, found ${describe(entry)}`, REDOWNLOAD);
  }
  const out: Record<string, string> = {};
  // The spec says string -> string; a writer that stored numbers is tolerated, their text kept.
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
  }
  return out;
}

function parseEntry(file: string, name: string, entry: unknown, dataStart: number, fileSize: number): TensorInfo {
  const where = `${file}: tensor "${name}"`;
  if (!isRecord(entry)) {
    throw new ShitateError('E_SAFETENSORS_HEADER',
      `${where}: expected {dtype, shape, data_offsets}, found ${describe(entry)}`, REDOWNLOAD);
  }
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string' || !isDtype(dtype)) {
    throw new ShitateError('E_SAFETENSORS_DTYPE',
      `${where}: expected a dtype among ${Object.keys(DTYPE_SIZES).join(', ')}, found ${JSON.stringify(dtype)}`,
      'this file uses a dtype shitate does not know; convert the checkpoint to bf16, f16 or f32 safetensors');
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
    throw new ShitateError('E_SAFETENSORS_HEADER',
      `${where}: expected "shape" to be a list of non-negative integers, found ${JSON.stringify(shape)}`, REDOWNLOAD);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt) || offsets[0] > offsets[1]) {
    throw new ShitateError('E_SAFETENSORS_HEADER',
      `${where}: expected "data_offsets" to be [begin, end] with 0 <= begin <= end, found ${JSON.stringify(offsets)}`,
      REDOWNLOAD);
  }
  const [b, e] = offsets as [number, number];
  const dataSize = fileSize - dataStart;
  if (e > dataSize) {
    throw new ShitateError('E_SAFETENSORS_TRUNCATED',
      `${where}: expected its data to end at byte ${dataStart + e} of the file, found a file of ${fileSize} bytes ` +
      `(data_offsets ${JSON.stringify(offsets)} run past the end of the ${dataSize}-byte data buffer)`, REDOWNLOAD);
  }
  const want = numelOf(shape as number[]) * DTYPE_SIZES[dtype];
  if (e - b !== want) {
    throw new ShitateError('E_SAFETENSORS_SIZE',
      `${where}: expected ${want} bytes for shape [${(shape as number[]).join(', ')}] of ${dtype}, ` +
      `found data_offsets spanning ${e - b} bytes`, REDOWNLOAD);
  }
  return { dtype, shape: [...(shape as number[])], begin: dataStart + b, end: dataStart + e };
}

// Two tensors may not share bytes: a writer bug, or a crafted file. Empty tensors cannot overlap anything.
function checkOverlaps(file: string, tensors: Map<string, TensorInfo>): void {
  const spans = [...tensors].filter(([, t]) => t.end > t.begin).sort((a, b) => a[1].begin - b[1].begin);
  for (let i = 1; i < spans.length; i++) {
    const [prevName, prev] = spans[i - 1];
    const [name, cur] = spans[i];
    if (cur.begin < prev.end) {
      throw new ShitateError('E_SAFETENSORS_OVERLAP',
        `${file}: expected tensors to occupy disjoint byte ranges, found "${name}" starting at byte ${cur.begin} ` +
        `inside "${prevName}" (bytes ${prev.begin}..${prev.end})`, REDOWNLOAD);
    }
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}
