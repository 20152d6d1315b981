/**
 * sgemm on OpenBLAS: C = alpha · op(A) · op(B) + beta · C, batched with element strides, on operands
 * already checked by src/ops/wasm/sgemm.ts (the one GEMM entry). Products smaller than the hand-over
 * costs (< 2^20 multiply-adds) run as one single-threaded call on the operands in place (koffi passes
 * a typed array's own address: no copy). Larger ones use every thread (`EFFLAB_THREADS`):
 *  - A and C in ordinary memory and at least OPENBLAS_THREADS_MIN_ROWS rows (the decoder's prefill
 *    activations): one call with OpenBLAS's own threads, which read the operands in place; set back to
 *    one thread afterwards;
 *  - otherwise (the resident MiniLM encoder, attention's and LoRC's operands in the shared memory, a few
 *    rows): split into one part per thread of the wasm pool (whole products of a batch, else column or
 *    row blocks), each part one single-threaded OpenBLAS call (operands not in the shared memory are
 *    copied there first); the caller takes back a part no helper has started, so a busy machine does
 *    not stall it.
 *    `policy: 'pool'` forces this split for every large product (tests).
 */
import type { WasmKernels } from '../wasm/runtime';
import { BLAS_JOB, type Job } from '../wasm/pool';
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

/** Multiply-adds from which a call is split over the pool's threads (one part ≈ 10 µs of hand-over). */
export const NATIVE_SPLIT_MIN = 1 << 20;
/**
 * Rows from which a large product on operands in ordinary memory runs on OpenBLAS's own threads. Fewer
 * rows (decode's output head, DORM's batches) stage little for the pool split, which stays robust when the
 * machine is busy (under load a descheduled OpenBLAS worker stalls the call: LoRC decode at load ≈ 3,
 * 104–126 against 70–98 ms/token with the pool).
 */
export const OPENBLAS_THREADS_MIN_ROWS = 64;
/** Column blocks are multiples of this (OpenBLAS's SkylakeX sgemm kernel is 16 wide). */
const COL_ALIGN = 16;

let calls = 0;

/** How many GEMM calls OpenBLAS has run in this process (tests check the routing with it). */
export function nativeGemmCalls(): number {
  return calls;
}

function extent(batch: number, stride: number, rows: number, ld: number, cols: number): number {
  if (rows === 0 || cols === 0 || batch === 0) return 0;
  return (batch - 1) * stride + (rows - 1) * ld + cols;
}

/** One OpenBLAS call (batched: cblas_sgemm_batch_strided where present, else a loop) on this thread. */
function direct(blas: NativeBlas, A: Float32Array, B: Float32Array, C: Float32Array, g: GemmCall): void {
  const tA = g.transA ? CBLAS_TRANS : CBLAS_NO_TRANS;
  const tB = g.transB ? CBLAS_TRANS : CBLAS_NO_TRANS;
  if (g.batch > 1 && blas.sgemmStrided && g.strideC > 0) {
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

/** One thread's share: element offsets into A, B, C and its sizes. */
interface Part {
  offA: number;
  offB: number;
  offC: number;
  m: number;
  n: number;
  nb: number;
}

/** Split a call into `parts` shares: whole products of the batch, else row blocks or column blocks. */
function split(g: GemmCall, parts: number, aShared: boolean): Part[] | undefined {
  const out: Part[] = [];
  const { M, N, batch } = g;
  if (batch % parts === 0 || batch >= 2 * parts) {
    const per = Math.ceil(batch / parts);
    for (let b0 = 0; b0 < batch; b0 += per) {
      const nb = Math.min(per, batch - b0);
      out.push({ offA: b0 * g.strideA, offB: b0 * g.strideB, offC: b0 * g.strideC, m: M, n: N, nb });
    }
    return out;
  }
  // Row blocks need only their rows of A in shared memory (activations usually are not there); column
  // blocks need all of A, so they are for A already shared or too few rows.
  const rows = M >= 8 * parts && (!aShared || M >= N);
  if (!rows && N >= 2 * COL_ALIGN) {
    const per = Math.ceil(N / parts / COL_ALIGN) * COL_ALIGN;
    for (let j0 = 0; j0 < N; j0 += per) {
      const offB = g.transB ? j0 * g.ldb : j0;
      out.push({ offA: 0, offB, offC: j0, m: M, n: Math.min(per, N - j0), nb: batch });
    }
    return out;
  }
  if (M < 2) return undefined;
  const per = Math.ceil(M / parts);
  for (let i0 = 0; i0 < M; i0 += per) {
    const offA = g.transA ? i0 : i0 * g.lda;
    out.push({ offA, offB: 0, offC: i0 * g.ldc, m: Math.min(per, M - i0), n: N, nb: batch });
  }
  return out;
}

/**
 * C = alpha · op(A) · op(B) + beta · C for each of `g.batch` products (Σ_k A[i,k] B[k,j] in float32),
 * on OpenBLAS, split over the threads of `k`'s pool when large (see the module comment). The calling
 * thread computes its share on the operands in place; each helper's share is copied into the shared
 * memory first where its operands are not there already (only the rows / columns it reads or writes).
 */
export function nativeSgemm(
  blas: NativeBlas,
  A: Float32Array,
  B: Float32Array,
  C: Float32Array,
  g: GemmCall,
  k: WasmKernels,
  policy: 'auto' | 'pool' = 'auto',
): void {
  calls++;
  const { arena } = k;
  const large = g.batch * g.M * g.N * g.K >= NATIVE_SPLIT_MIN;
  if (
    large &&
    k.threads > 1 &&
    policy === 'auto' &&
    g.M >= OPENBLAS_THREADS_MIN_ROWS &&
    !arena.owns(A) &&
    !arena.owns(C)
  ) {
    // Operands in ordinary memory: OpenBLAS's own threads read them where they are, where the pool's
    // helpers could only read copies in the shared memory (staging the rows of A and copying C back cost
    // more than the split gained: a 24-prompt PRBoost pass 2.9 s against 3.6 s, prefill 298 vs 325 ms).
    blas.setThreads(k.threads);
    try {
      direct(blas, A, B, C, g);
    } finally {
      blas.setThreads(1);
    }
    return;
  }
  const threads = k.pool.blasHelpers ? k.threads : 1;
  const parts = large ? threads : 1;
  const shares = parts > 1 && g.strideC > 0 ? split(g, parts, arena.owns(A)) : undefined;
  if (!shares || shares.length < 2) {
    direct(blas, A, B, C, g);
    return;
  }
  const held: { done: () => void }[] = [];
  const backs: (() => void)[] = [];
  /** Byte pointer of x[off .. off + n) in shared memory (copied into scratch unless x lives there). */
  const stage = (x: Float32Array, off: number, n: number, copyIn: boolean): number => {
    if (arena.owns(x)) return x.byteOffset + 4 * off;
    const s = arena.scratch(4 * n + 64);
    held.push(s);
    if (copyIn) arena.f32().set(x.subarray(off, off + n), s.ptr / 4);
    return s.ptr;
  };
  try {
    const jobs: Job[] = shares.map((p, i) => {
      if (i === 0) return { name: BLAS_JOB, args: [] };
      const [aRows, aCols] = g.transA ? [g.K, p.m] : [p.m, g.K];
      const [bRows, bCols] = g.transB ? [p.n, g.K] : [g.K, p.n];
      const pA = stage(A, p.offA, extent(p.nb, g.strideA, aRows, g.lda, aCols), true);
      const pB = stage(B, p.offB, extent(p.nb, g.strideB, bRows, g.ldb, bCols), true);
      const pC = stage(C, p.offC, extent(p.nb, g.strideC, p.m, g.ldc, p.n), g.beta !== 0);
      if (!arena.owns(C)) {
        // Copy back exactly this share's m × n windows: the rest of the staged range belongs to other
        // shares (the caller writes its own in place meanwhile) or to C's gaps.
        backs.push(() => {
          const mem = arena.f32();
          for (let b = 0; b < p.nb; b++)
            for (let r = 0; r < p.m; r++) {
              const o = b * g.strideC + r * g.ldc;
              C.set(mem.subarray(pC / 4 + o, pC / 4 + o + p.n), p.offC + o);
            }
        });
      }
      const head = [g.transA ? 1 : 0, g.transB ? 1 : 0, p.m, p.n, g.K, g.alpha, pA, g.lda, pB, g.ldb];
      return { name: BLAS_JOB, args: [...head, g.beta, pC, g.ldc, p.nb, g.strideA, g.strideB, g.strideC] };
    });
    const own = shares[0];
    k.pool.run(jobs, () =>
      direct(blas, A.subarray(own.offA), B.subarray(own.offB), C.subarray(own.offC), {
        ...g,
        M: own.m,
        N: own.n,
        batch: own.nb,
      }),
    );
    for (const back of backs) back();
  } finally {
    for (const h of held) h.done();
  }
}
