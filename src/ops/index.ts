/** The ops layer: tensors, gpu.js kernels (each with a plain-TS reference) and linear algebra. */
export * from './tensor';
export * from './errors';
export {
  BACKENDS,
  BACKEND_ENV,
  availableBackends,
  backendUnavailableReason,
  disposeBackends,
  getBackend,
  lastBackendRan,
  setBackend,
  withBackend,
  type BackendName,
} from './backend';
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
