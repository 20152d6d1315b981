/**
 * The native backend's public surface: OpenBLAS through the koffi FFI for GEMM-shaped ops (see lib.ts
 * for where the library is found, kernels.ts for what runs on it). Loaded on first use.
 */
export { BLAS_LIB_ENV, nativeBlas, nativeUnavailableReason, type NativeBlas } from './lib';
export { nativeGemmCalls } from './sgemm';
