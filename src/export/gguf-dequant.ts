// GGUF tensor bytes back to float32, as ggml's dequantize_row_* read them: the other half of every format
// gguf-quants.ts writes, used to check a written file and to measure what quantization changed.
import { ShitateError } from '../errors.js';
import { fp16Value } from './gguf-half.js';
import { scaleMinK4 } from './gguf-kquants.js';
import { GgmlType, typeName } from './gguf-types.js';

const f = Math.fround;

function q8(b: DataView, y: Float32Array): void {
  for (let i = 0, p = 0; i < y.length; i += 32, p += 34) {
    const d = fp16Value(b.getUint16(p, true));
    for (let j = 0; j < 32; j++) y[i + j] = f(b.getInt8(p + 2 + j) * d);
  }
}

function q5(b: DataView, u: Uint8Array, y: Float32Array): void {
  for (let i = 0, p = 0; i < y.length; i += 32, p += 22) {
    const d = fp16Value(b.getUint16(p, true));
    const qh = b.getUint32(p + 2, true);
    for (let j = 0; j < 16; j++) {
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      y[i + j] = f((((u[p + 6 + j] & 0x0f) | h0) - 16) * d);
      y[i + j + 16] = f((((u[p + 6 + j] >> 4) | h1) - 16) * d);
    }
  }
}

function q51(b: DataView, u: Uint8Array, y: Float32Array): void {
  for (let i = 0, p = 0; i < y.length; i += 32, p += 24) {
    const d = fp16Value(b.getUint16(p, true));
    const m = fp16Value(b.getUint16(p + 2, true));
    const qh = b.getUint32(p + 4, true);
    for (let j = 0; j < 16; j++) {
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      y[i + j] = f(f(((u[p + 8 + j] & 0x0f) | h0) * d) + m);
      y[i + j + 16] = f(f(((u[p + 8 + j] >> 4) | h1) * d) + m);
    }
  }
}

function q5k(b: DataView, u: Uint8Array, y: Float32Array): void {
  for (let i = 0, p = 0; i < y.length; i += 256, p += 176) {
    const d = fp16Value(b.getUint16(p, true));
    const min = fp16Value(b.getUint16(p + 2, true));
    for (let j = 0, ql = p + 48, is = 0, o = i, u1 = 1, u2 = 2; j < 256; j += 64, ql += 32, is += 2, u1 <<= 2, u2 <<= 2) {
      const [s1, m1] = scaleMinK4(is, u, p + 4);
      const [s2, m2] = scaleMinK4(is + 1, u, p + 4);
      const [d1, mm1, d2, mm2] = [f(d * s1), f(min * m1), f(d * s2), f(min * m2)];
      for (let l = 0; l < 32; l++) y[o++] = f(f(d1 * ((u[ql + l] & 0xf) + (u[p + 16 + l] & u1 ? 16 : 0))) - mm1);
      for (let l = 0; l < 32; l++) y[o++] = f(f(d2 * ((u[ql + l] >> 4) + (u[p + 16 + l] & u2 ? 16 : 0))) - mm2);
    }
  }
}

function q4k(b: DataView, u: Uint8Array, y: Float32Array): void {
  for (let i = 0, p = 0; i < y.length; i += 256, p += 144) {
    const d = fp16Value(b.getUint16(p, true));
    const min = fp16Value(b.getUint16(p + 2, true));
    for (let j = 0, q = p + 16, is = 0, o = i; j < 256; j += 64, q += 32, is += 2) {
      const [s1, m1] = scaleMinK4(is, u, p + 4);
      const [s2, m2] = scaleMinK4(is + 1, u, p + 4);
      const [d1, mm1, d2, mm2] = [f(d * s1), f(min * m1), f(d * s2), f(min * m2)];
      for (let l = 0; l < 32; l++) y[o++] = f(f(d1 * (u[q + l] & 0xf)) - mm1);
      for (let l = 0; l < 32; l++) y[o++] = f(f(d2 * (u[q + l] >> 4)) - mm2);
    }
  }
}

function q6k(b: DataView, u: Uint8Array, y: Float32Array): void {
  for (let i = 0, p = 0; i < y.length; i += 256, p += 210) {
    const d = fp16Value(b.getUint16(p + 208, true));
    for (let n = 0, ql = p, qh = p + 128, sc = p + 192; n < 256; n += 128, ql += 64, qh += 32, sc += 8) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = u[qh + l];
        const q1 = ((u[ql + l] & 0xf) | ((h & 3) << 4)) - 32;
        const q2 = ((u[ql + l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((u[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((u[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
        y[i + n + l] = f(f(d * b.getInt8(sc + is)) * q1);
        y[i + n + l + 32] = f(f(d * b.getInt8(sc + is + 2)) * q2);
        y[i + n + l + 64] = f(f(d * b.getInt8(sc + is + 4)) * q3);
        y[i + n + l + 96] = f(f(d * b.getInt8(sc + is + 6)) * q4);
      }
    }
  }
}

/** `n` float32 values from the GGUF bytes of a tensor of type `t`. */
export function decodeTensor(t: GgmlType, bytes: Uint8Array, n: number): Float32Array {
  const y = new Float32Array(n);
  const b = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (t) {
    case GgmlType.F32:
      for (let i = 0; i < n; i++) y[i] = b.getFloat32(4 * i, true);
      return y;
    case GgmlType.F16:
      for (let i = 0; i < n; i++) y[i] = fp16Value(b.getUint16(2 * i, true));
      return y;
    case GgmlType.BF16:
      for (let i = 0; i < n; i++) y[i] = new Float32Array(new Uint32Array([b.getUint16(2 * i, true) << 16]).buffer)[0];
      return y;
    case GgmlType.Q8_0:
      q8(b, y);
      return y;
    case GgmlType.Q5_0:
      q5(b, bytes, y);
      return y;
    case GgmlType.Q5_1:
      q51(b, bytes, y);
      return y;
    case GgmlType.Q4_K:
      q4k(b, bytes, y);
      return y;
    case GgmlType.Q5_K:
      q5k(b, bytes, y);
      return y;
    case GgmlType.Q6_K:
      q6k(b, bytes, y);
      return y;
  }
  throw new ShitateError('E_INTERNAL', `no decoder for ${typeName(t)}`);
}
