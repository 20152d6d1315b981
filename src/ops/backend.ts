/**
 * Transitional shim for modules outside src/ops that still deep-import the old gpu.js switch
 * (src/methods/lorc/kernels.ts until the decoder engineer's rewiring lands). New code imports the ops
 * index: selection lives in registry.ts, gpu.js kernels in gl/.
 */
export { getBackend, lastBackendRan, setBackend, withBackend, type BackendName } from './registry';
export { runKernel, type KernelSpec } from './gl/runtime';
