/**
 * The ops layer: tensors, every compute op (shape checks + float64 reference beside it), and the one
 * registry that runs each op on the selected backend (gl, native, wasm, js, reference; see registry.ts).
 * Import ops only from here: the deep modules are internal (lint-enforced outside src/ops).
 */
import './backends';

export * from './tensor';
export * from './errors';
export { checkFinite, deferInputChecks } from './checks';
export {
  BACKENDS,
  BACKEND_ALIASES,
  BACKEND_ENV,
  COMPUTE_BACKENDS,
  FALLBACK,
  autoBackend,
  availableBackends,
  backendUnavailableReason,
  disposeBackends,
  getBackend,
  hasKernel,
  lastBackendRan,
  mayDecline,
  profileOps,
  resolveKernelBackend,
  setBackend,
  traceBackends,
  withBackend,
  type BackendName,
  type Declines,
  type OpCall,
  type OpTime,
} from './registry';
export { OP_NAMES, type OpKernels, type OpName } from './kernel-types';
export { glRenderer, glIsHardware } from './gl/runtime';
export * from './matmul';
export * from './elementwise';
export * from './softmax';
export * from './norm';
export * from './activations';
export * from './rope';
export * from './attention';
export * from './cosine';
export * from './topk';
export * from './random';
export * from './reduce';
export * from './linalg';
export * from './lowrank';
export * from './proxy-solve';
export * from './quant-linear';
export * from './packed-encoder';
export {
  MAX_POOLED_BYTES,
  clearOutputPool,
  outputBuffer,
  pooledOutputBytes,
  recycle,
  sizeClass,
} from './buffers';
// The wasm backend's plain-array API (src/ops/wasm): GEMM, quantized weights, shared-memory buffers.
export {
  QUANT_BLOCK_BYTES,
  THREADS_ENV,
  allocBytes,
  allocF32,
  checkQuantMatrix,
  freeF32,
  dequantizeQuant,
  dequantizeRows,
  linearQ4_1,
  linearQ8_0,
  linearQuant,
  sgemm,
  threadCount,
  wasmArena,
  wasmKernels,
  wasmThreads,
  wasmUnavailableReason,
  wasmUsesFma,
  type QuantLinearOptions,
  type QuantMatrix,
  type QuantType,
  type SgemmOptions,
  type WasmArena,
  type WasmKernels,
} from './wasm';
// The native backend (OpenBLAS through an FFI, loaded on first use): where the library is, and a call count.
export {
  BLAS_LIB_ENV,
  nativeBlas,
  nativeGemmCalls,
  nativeUnavailableReason,
  type NativeBlas,
} from './native';
// LoRC decode: low-rank keys rebuilt on a background thread (OpenBLAS) while the caller goes on.
export {
  backgroundBroken,
  backgroundIdle,
  postReconstructRope,
  settleBackground,
  warmBackground,
  type BackgroundKeysJob,
  type PendingKeys,
} from './native/background';
export { solveProxyExample, type ExampleSolve } from './js/proxy-solve';
export { PROXY_NEAR_TOLERANCE } from './gl/proxy-solve';
