// Buffer type of the reference kernels: Float32Array like the native kernels, or Float64Array so that
// finite-difference gradient checks can run the very same code in double precision.
export type FA = Float32Array | Float64Array;
