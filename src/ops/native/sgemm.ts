/**
 * sgemm on OpenBLAS: C = alpha · op(A) · op(B) + beta · C, batched with element strides, on operands
 * already checked by src/ops/wasm/sgemm.ts (the one GEMM entry). Operands are passed in place, including
 * views on the shared wasm memory (koffi hands the FFI the typed array's own address: no copy).
 */
import { CBLAS_NO_TRANS, CBLAS_ROW_MAJOR, CBLAS_TRANS, type NativeBlas } from './lib';

/** A GEMM as the wasm entry laid it out (sizes, leading dimensions and batch strides in elements). */
export interface GemmCall {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  alpha: number;
  beta: number;
  batch: number;
  lda: number;
  ldb: number;
  ldc: number;
  strideA: number;
  strideB: number;
  strideC: number;
}

/** Products from which a batch goes to cblas_sgemm_batch_strided in one call (it splits the batch over threads). */
const STRIDED_MIN_BATCH = 2;

let calls = 0;

/** How many GEMM calls OpenBLAS has run in this process (tests check the routing with it). */
export function nativeGemmCalls(): number {
  return calls;
}

/** C = alpha · op(A) · op(B) + beta · C for each of `g.batch` products (Σ_k A[i,k] B[k,j], float32). */
export function nativeSgemm(
  blas: NativeBlas,
  A: Float32Array,
  B: Float32Array,
  C: Float32Array,
  g: GemmCall,
): void {
  calls++;
  const tA = g.transA ? CBLAS_TRANS : CBLAS_NO_TRANS;
  const tB = g.transB ? CBLAS_TRANS : CBLAS_NO_TRANS;
  if (g.batch >= STRIDED_MIN_BATCH && blas.sgemmStrided && g.strideC > 0) {
    blas.sgemmStrided(
      CBLAS_ROW_MAJOR,
      tA,
      tB,
      g.M,
      g.N,
      g.K,
      g.alpha,
      A,
      g.lda,
      g.strideA,
      B,
      g.ldb,
      g.strideB,
      g.beta,
      C,
      g.ldc,
      g.strideC,
      g.batch,
    );
    return;
  }
  for (let b = 0; b < g.batch; b++) {
    blas.sgemm(
      CBLAS_ROW_MAJOR,
      tA,
      tB,
      g.M,
      g.N,
      g.K,
      g.alpha,
      b === 0 ? A : A.subarray(b * g.strideA),
      g.lda,
      b === 0 ? B : B.subarray(b * g.strideB),
      g.ldb,
      g.beta,
      b === 0 ? C : C.subarray(b * g.strideC),
      g.ldc,
    );
  }
}
