/**
 * The `wasm` backend's CPU kernels: WebAssembly SIMD, register- and cache-blocked, on every core
 * (worker threads on one shared memory, synchronous calls). Plain API: Float32Array / Uint8Array plus
 * dimensions, no Tensor policy; the ops registry wraps these as the wasm backend of matmul / linear /
 * attention / cosine, the decoder calls the quantized linear layers.
 *
 *   sgemm(transA, transB, M, N, K, A, B, C, { alpha, beta, batch, strideA, strideB, strideC, lda, ldb, ldc, threads })
 *       C = alpha · op(A) · op(B) + beta · C, float32, row-major; op(A) is M × K (A stored K × M when
 *       transA), op(B) is K × N (B stored N × K when transB — linear weights: y = x · Wᵀ is
 *       sgemm(false, true, rows, out, in, x, W, y)). Batched with element strides (0 reuses one
 *       operand). beta = 0 (default) overwrites C. Returns C.
 *   linearQ8_0(x, rows, W, { out }) / linearQ4_1(...) / linearQuant(...)
 *       y[rows × W.rows] = x · Wᵀ with W a QuantMatrix { type: 'q8_0' | 'q4_1', rows, cols, data }
 *       holding the GGUF blocks as stored (row after row, cols / 32 blocks each). Never materialises
 *       f32 weights for rows < 8 (decode); above, dequantizes 2 MB chunks and runs sgemm. Option
 *       { activations: 'i16' }: rows < 8 with x rounded to int16 per block, integer dot products (≈ 2×
 *       faster; error ≤ Σ_blocks (s/2)·Σ|w|, s = max|x_block|/32767).
 *   dequantizeRows(W, j0, j1, { out }) / dequantizeQuant(W)
 *       float32 rows of a QuantMatrix (e.g. embedding rows of a quantized token_embd), exact.
 *   allocF32(n) / allocBytes(n)
 *       arrays inside the shared wasm memory: kernels read (and write) them in place, with no copy per
 *       call — allocate weights (f32 or quantized bytes) here. Freed when the view is collected.
 *   wasmUnavailableReason() / wasmThreads() / wasmUsesFma()
 *       whether the backend runs here, its threads, and whether relaxed-SIMD FMA is on.
 *
 * Errors: ShapeError (sizes, lengths), ValueError (alpha/beta, unknown quant type), BackendError (no
 * WebAssembly, or a kernel trapped in a helper thread). Threads: EFFLAB_THREADS; FMA: EFFLAB_WASM_FMA=0
 * turns it off. How and why: bench/README.md, "Choice of the CPU path".
 */
import { requireKernels, wasmKernels } from './runtime';

export { sgemm, type SgemmOptions } from './sgemm';
export {
  QUANT_BLOCK_BYTES,
  checkQuantMatrix,
  dequantizeQuant,
  dequantizeRows,
  linearQ4_1,
  linearQ8_0,
  linearQuant,
  quantizeI16,
  type QuantLinearOptions,
  type QuantMatrix,
  type QuantType,
} from './quant';
export {
  FMA_ENV,
  createKernels,
  relaxedSimdAvailable,
  wasmArena,
  wasmKernels,
  wasmUnavailableReason,
  type WasmKernels,
} from './runtime';
export { THREADS_ENV, threadCount } from './pool';
export type { WasmArena } from './arena';

/** A float32 array in the shared wasm memory (read in place by the kernels); plain memory without wasm. */
export function allocF32(n: number): Float32Array {
  const k = wasmKernels();
  return k ? k.arena.allocF32(n) : new Float32Array(n);
}

/**
 * Return an `allocF32` array's shared memory now rather than at garbage collection; the array must not
 * be used afterwards. False (nothing done) for any other array, so plain memory is accepted.
 */
export function freeF32(a: Float32Array): boolean {
  const k = wasmKernels();
  return k ? k.arena.freeF32(a) : false;
}

/** A byte array in the shared wasm memory (e.g. quantized weights); plain memory without wasm. */
export function allocBytes(n: number): Uint8Array {
  const k = wasmKernels();
  return k ? k.arena.allocU8(n) : new Uint8Array(n);
}

/** Threads the default kernels use (the caller included). */
export function wasmThreads(): number {
  return requireKernels().threads;
}

/** Whether the default kernels use relaxed-SIMD fused multiply-add. */
export function wasmUsesFma(): boolean {
  return requireKernels().fma;
}
