// Arrays that start on a cache line. The kernels read 64 bytes (16 floats, 32 bf16 values) at a time; a load that
// straddles two cache lines costs about two, and a fresh typed array is only 16-byte aligned (malloc), so a batched
// decode step over bf16 weights placed anywhere ran 10-20% slower (one thread, 32 rows x 1536 x 576: 268 against 305
// GFLOP/s; 4 rows 140 against 172). Used for the bf16 weight copies, the KV cache and the decode step's buffers. The
// array is a view into a slightly longer one, placed on the boundary.
import { kernels } from '../kernels/index.js';

const LINE = 64;

/** n zeros in an array made by `make` whose first element lies on a cache line (where the kernels can tell). */
function lineAligned<T extends Float32Array | Uint16Array>(make: (n: number) => T, n: number): T {
  const raw = make(n + LINE / 2);
  const skip = ((LINE - kernels().lineOffset(raw)) % LINE) / raw.BYTES_PER_ELEMENT; // malloc aligns to 16 bytes
  return raw.subarray(skip, skip + n) as T;
}

/** A zero-filled Float32Array of n values that starts on a cache line. */
export const lineAlignedFloat32 = (n: number): Float32Array => lineAligned((m) => new Float32Array(m), n);

/** A zero-filled Uint16Array of n values that starts on a cache line. */
export const lineAlignedUint16 = (n: number): Uint16Array => lineAligned((m) => new Uint16Array(m), n);
