// The GGML tensor types and file types a GGUF written here uses, with their block layouts (ggml-common.h):
// elements per block and bytes per block, and the row size a tensor of a given width takes.
import { ShitateError } from '../errors.js';

/** ggml_type ids (ggml.h). */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  BF16: 30,
} as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

/** Block layouts: Q8_0 = f16 d + 32 int8; Q5_0 = f16 d + 4 bytes high bits + 16 nibble bytes; Q5_1 = f16 d,
 *  f16 min, then as Q5_0; Q4_K = f16 d, f16 dmin, 12 packed 6-bit scales/mins, 128 nibble bytes; Q5_K = Q4_K's
 *  head, 32 bytes of fifth bits, 128 nibble bytes; Q6_K = 128 low nibbles, 64 high 2-bit, 16 int8 scales, f16 d. */
const LAYOUT: Record<GgmlType, { block: number; bytes: number; name: string }> = {
  [GgmlType.F32]: { block: 1, bytes: 4, name: 'F32' },
  [GgmlType.F16]: { block: 1, bytes: 2, name: 'F16' },
  [GgmlType.BF16]: { block: 1, bytes: 2, name: 'BF16' },
  [GgmlType.Q5_0]: { block: 32, bytes: 22, name: 'Q5_0' },
  [GgmlType.Q5_1]: { block: 32, bytes: 24, name: 'Q5_1' },
  [GgmlType.Q8_0]: { block: 32, bytes: 34, name: 'Q8_0' },
  [GgmlType.Q4_K]: { block: 256, bytes: 144, name: 'Q4_K' },
  [GgmlType.Q5_K]: { block: 256, bytes: 176, name: 'Q5_K' },
  [GgmlType.Q6_K]: { block: 256, bytes: 210, name: 'Q6_K' },
};

export function blockSize(t: GgmlType): number {
  return LAYOUT[t].block;
}

export function typeName(t: GgmlType): string {
  return LAYOUT[t].name;
}

/** Bytes of one row of `width` elements (ggml_row_size); the width must be a whole number of blocks. */
export function rowBytes(t: GgmlType, width: number): number {
  const { block, bytes } = LAYOUT[t];
  if (width % block !== 0) {
    throw new ShitateError('E_EXPORT_SHAPE', `a ${LAYOUT[t].name} row must hold a multiple of ${block} values, found ${width}`,
      'pick another --quant (f16, bf16 or q8_0 fit any width that is a multiple of 32)');
  }
  return (width / block) * bytes;
}

/** Bytes of a whole tensor of GGUF shape `ne` (ne[0] = row width). */
export function tensorBytes(t: GgmlType, ne: readonly number[]): number {
  const rows = ne.slice(1).reduce((a, b) => a * b, 1);
  return rowBytes(t, ne[0]) * rows;
}

/** llama_ftype values written as general.file_type (llama.h). */
export const FileType = {
  ALL_F32: 0,
  MOSTLY_F16: 1,
  MOSTLY_Q8_0: 7,
  MOSTLY_Q4_K_M: 15,
  MOSTLY_BF16: 32,
} as const;

/** The --quant presets this exporter writes. */
export const QUANTS = ['f32', 'f16', 'bf16', 'q8_0', 'q4_k_m'] as const;
export type Quant = (typeof QUANTS)[number];

export const FILE_TYPE_OF: Record<Quant, number> = {
  f32: FileType.ALL_F32,
  f16: FileType.MOSTLY_F16,
  bf16: FileType.MOSTLY_BF16,
  q8_0: FileType.MOSTLY_Q8_0,
  q4_k_m: FileType.MOSTLY_Q4_K_M,
};
