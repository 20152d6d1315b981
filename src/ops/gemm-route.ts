/**
 * Which engine a GEMM called now should use: the wasm GEMM entry (src/ops/wasm/sgemm.ts) asks here,
 * and the registry answers (it installs its `gemmBackend` when it loads). A leaf module, so the wasm
 * kernels do not import the registry (the registry's kernel table imports them).
 */
let source: () => string = () => 'wasm';

/** Install the function that names the backend of the running op kernel (the registry does this). */
export function setGemmRouteSource(f: () => string): void {
  source = f;
}

/** The backend a GEMM called now should run on (`native` routes it to OpenBLAS). */
export function gemmRoute(): string {
  return source();
}
