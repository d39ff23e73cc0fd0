// shitate's library API. The CLI is built on exactly these exports.
export { ShitateError } from './errors.js';
export * from './tensor/index.js';
export { kernels, nativeStatus, referenceKernels, useKernels, type Kernels } from './kernels/index.js';
