/**
 * The one GEMM entry of the CPU backends: C = alpha · op(A) · op(B) + beta · C in float32, batched,
 * synchronous. Every wasm GEMM goes through it (linear, matmul, batched attention, cosine, quantized
 * prefill). It routes on the registry's `gemmBackend()`, asked through src/ops/gemm-route.ts (a leaf,
 * so these kernels do not import the registry): when the running op kernel (or, for a direct call, the
 * selected backend) is `native` and OpenBLAS loads, the product runs on OpenBLAS in place
 * (src/ops/native); otherwise on the wasm kernels, on every thread of the pool: operands that live in
 * the wasm arena are read and written in place, others are copied into scratch memory and C back.
 * A call that names its own `kernels` (not the process-wide ones) always runs on those wasm kernels.
 */
import { ShapeError, ValueError } from '../../errors';
import { nativeBlas } from '../native/lib';
import { nativeSgemm } from '../native/sgemm';
import { gemmRoute } from '../gemm-route';
import type { Job } from './pool';
import { requireKernels, wasmKernels, type WasmKernels } from './runtime';

/** Options of `sgemm`. Leading dimensions and batch strides are in elements. */
export interface SgemmOptions {
  /** Scale of the product (default 1). */
  alpha?: number;
  /** Scale of the prior C (default 0: C is overwritten and need not be initialised). */
  beta?: number;
  /** Number of independent products (default 1). */
  batch?: number;
  /** Elements between consecutive A / B / C matrices of the batch (defaults: tightly packed; 0 reuses one). */
  strideA?: number;
  strideB?: number;
  strideC?: number;
  /** Row pitch of A, B, C as stored (defaults: their stored column counts). */
  lda?: number;
  ldb?: number;
  ldc?: number;
  /** Use at most this many wasm threads (default: all of the kernels' threads; OpenBLAS keeps its own). */
  threads?: number;
  /** Wasm kernels to run on (default: the process-wide ones; others pin the call to wasm). */
  kernels?: WasmKernels;
}

/** K block: a packed B block of KC × N floats stays in L2; MC rows of A stay in L1/L2. */
const KC = 256;
const MC = 96;
/** Below this many multiply-adds a call runs on one thread (hand-over costs ~10 µs). */
const SPLIT_MIN = 1 << 18;
/** Rows of A up to which a product with B transposed uses the dot-product kernel (any batch). */
const DOT_MAX_M = 8;
/**
 * Rows of A up to which a single product (batch 1) with B transposed uses it too: with B taken in
 * column blocks that stay in L2, dot products of rows need no packing of B (the linear-layer weights)
 * and beat the packed kernel at M = 16–256 (one thread, GFLOP per CPU-s: 128 × 576 × 576ᵀ 50.8 vs 47.2,
 * 128 × 1536 × 576ᵀ 50.2 vs 45.8, 16 × 1536 × 576ᵀ 48.1 vs 38.0), not at M = 512 (45.8 vs 48.3).
 */
const DOT_MAX_M_SINGLE = 256;
/** Floats of B per column block of the dot-product kernel (512 KB: half of a Zen 4 core's L2). */
const DOT_BLOCK_FLOATS = 1 << 17;

interface Operand {
  ptr: number;
  copyBack?: () => void;
}

function extent(batch: number, stride: number, rows: number, ld: number, cols: number): number {
  if (rows === 0 || cols === 0 || batch === 0) return 0;
  return (batch - 1) * stride + (rows - 1) * ld + cols;
}

function checkDim(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new ShapeError(`sgemm: ${name} = ${v} is not a size`);
}

/**
 * C = alpha · op(A) · op(B) + beta · C for each of `batch` products (GEMM). op(A) is M × K: A is stored
 * M × K row-major, or K × M when transA. op(B) is K × N: B is stored K × N, or N × K when transB (the
 * layout of linear-layer weights, y = x · Wᵀ). C is M × N row-major. Returns C. Eq. (matrix product)
 * Σ_k A[i,k] B[k,j], accumulated in float32 in blocks of 256 k.
 */
export function sgemm(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: Float32Array,
  B: Float32Array,
  C: Float32Array,
  opts: SgemmOptions = {},
): Float32Array {
  for (const [n, v] of [
    ['M', M],
    ['N', N],
    ['K', K],
  ] as const)
    checkDim(n, v);
  const batch = opts.batch ?? 1;
  checkDim('batch', batch);
  const alpha = opts.alpha ?? 1;
  const beta = opts.beta ?? 0;
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) {
    throw new ValueError(`sgemm: alpha = ${alpha} and beta = ${beta} must be finite`);
  }
  const [aRows, aCols] = transA ? [K, M] : [M, K];
  const [bRows, bCols] = transB ? [N, K] : [K, N];
  const lda = opts.lda ?? aCols;
  const ldb = opts.ldb ?? bCols;
  const ldc = opts.ldc ?? N;
  const sA = opts.strideA ?? aRows * lda;
  const sB = opts.strideB ?? bRows * ldb;
  const sC = opts.strideC ?? M * ldc;
  for (const [n, v, min] of [
    ['lda', lda, aCols],
    ['ldb', ldb, bCols],
    ['ldc', ldc, N],
  ] as const) {
    checkDim(n, v);
    if (v < min) throw new ShapeError(`sgemm: ${n} = ${v} is less than the ${min} stored columns`);
  }
  for (const [n, v] of [
    ['strideA', sA],
    ['strideB', sB],
    ['strideC', sC],
  ] as const)
    checkDim(n, v);
  const needA = K === 0 ? 0 : extent(batch, sA, aRows, lda, aCols);
  const needB = K === 0 ? 0 : extent(batch, sB, bRows, ldb, bCols);
  const needC = extent(batch, sC, M, ldc, N);
  const shape = `${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'} with M=${M}, N=${N}, K=${K}, batch=${batch}`;
  if (A.length < needA) throw new ShapeError(`sgemm ${shape}: A has ${A.length} elements, needs ${needA}`);
  if (B.length < needB) throw new ShapeError(`sgemm ${shape}: B has ${B.length} elements, needs ${needB}`);
  if (C.length < needC) throw new ShapeError(`sgemm ${shape}: C has ${C.length} elements, needs ${needC}`);
  if (needC === 0) return C;
  if (K === 0 || alpha === 0) {
    scaleC(C, batch, sC, M, N, ldc, beta);
    return C;
  }

  if ((opts.kernels === undefined || opts.kernels === wasmKernels()) && gemmRoute() === 'native') {
    const blas = nativeBlas();
    if (blas) {
      const g = {
        transA,
        transB,
        M,
        N,
        K,
        alpha,
        beta,
        batch,
        lda,
        ldb,
        ldc,
        strideA: sA,
        strideB: sB,
        strideC: sC,
      };
      nativeSgemm(blas, A, B, C, g, requireKernels());
      return C;
    }
  }

  const k = opts.kernels ?? requireKernels();
  const threads = Math.max(1, Math.min(opts.threads ?? k.threads, k.threads));
  const { arena } = k;
  const scratches: { done: () => void }[] = [];
  const stage = (x: Float32Array, n: number, copyIn: boolean): Operand => {
    if (arena.owns(x)) return { ptr: x.byteOffset };
    const s = arena.scratch(4 * n + 64);
    scratches.push(s);
    const mem = arena.f32();
    if (copyIn) mem.set(x.subarray(0, n), s.ptr / 4);
    return {
      ptr: s.ptr,
      copyBack: () => x.set(arena.f32().subarray(s.ptr / 4, s.ptr / 4 + n)),
    };
  };
  try {
    const a = stage(A, needA, true);
    const b = stage(B, needB, true);
    if (beta !== 0 && beta !== 1) scaleC(C, batch, sC, M, N, ldc, beta);
    const c = stage(C, needC, beta !== 0);
    const acc = beta !== 0 ? 1 : 0;
    const rsa = transA ? 4 : 4 * lda;
    const csa = transA ? 4 * lda : 4;
    const rsb = transB ? 4 : 4 * ldb;
    const csb = transB ? 4 * ldb : 4;
    const parts = batch * M * N * K < SPLIT_MIN ? 1 : threads;

    const dotRows = M <= DOT_MAX_M || (batch === 1 && M <= DOT_MAX_M_SINGLE);
    if (transB && !transA && dotRows && K % 4 === 0) {
      // Rows against a transposed B: dot products of rows, no packing; threads split N, each takes
      // its columns in blocks of B that stay in L2 while every group of rows streams them.
      const nb = Math.max(16, Math.floor(DOT_BLOCK_FLOATS / K / 8) * 8);
      for (let bi = 0; bi < batch; bi++) {
        const jobs: Job[] = [];
        const per = Math.ceil(N / parts / 4) * 4;
        for (let j0 = 0; j0 < N; j0 += per) {
          const n = Math.min(per, N - j0);
          const aP = a.ptr + 4 * bi * sA;
          const bP = b.ptr + 4 * (bi * sB + j0 * ldb);
          const cP = c.ptr + 4 * (bi * sC + j0);
          jobs.push({
            name: 'dotNT',
            args: [aP, 4 * lda, bP, 4 * ldb, cP, 4 * ldc, M, n, K, alpha, acc, nb],
          });
        }
        k.pool.run(jobs);
      }
    } else {
      // pack B (needed when its rows are not contiguous; pays when many row panels reuse it); A is
      // always packed (the kernel reads MR-row panels of it)
      const packB = transB || M > 16 ? 1 : 0;
      const jobs: Job[] = [];
      const job = (aP: number, bP: number, cP: number, m: number, n: number, nb: number): void => {
        const packBytes = 4 * KC * Math.ceil(n / k.nr) * k.nr + 4 * k.mr * k.nr + 4 * MC * KC + 64;
        const s = arena.scratch(packBytes);
        scratches.push(s);
        jobs.push({
          name: 'gemm',
          args: [
            aP,
            rsa,
            csa,
            bP,
            rsb,
            csb,
            cP,
            4 * ldc,
            m,
            n,
            K,
            alpha,
            s.ptr,
            packB,
            KC,
            MC,
            acc,
            nb,
            4 * sA,
            4 * sB,
            4 * sC,
          ],
        });
      };
      if (parts > 1 && batch >= 2 * parts) {
        // many products: whole products per thread
        const per = Math.ceil(batch / parts);
        for (let b0 = 0; b0 < batch; b0 += per) {
          job(a.ptr + 4 * b0 * sA, b.ptr + 4 * b0 * sB, c.ptr + 4 * b0 * sC, M, N, Math.min(per, batch - b0));
        }
      } else if (parts > 1 && N >= 2 * parts * k.nr && (M <= N || M < 2 * parts * k.mr)) {
        // split the columns (each thread packs its own part of B, and all of A: so when A is the smaller)
        const per = Math.ceil(N / parts / k.nr) * k.nr;
        for (let j0 = 0; j0 < N; j0 += per) {
          job(a.ptr, b.ptr + j0 * csb, c.ptr + 4 * j0, M, Math.min(per, N - j0), batch);
        }
      } else if (parts > 1 && M >= 2 * parts * k.mr) {
        // split the rows (each thread packs its own part of A, and all of B)
        const per = Math.ceil(M / parts / k.mr) * k.mr;
        for (let i0 = 0; i0 < M; i0 += per) {
          job(a.ptr + i0 * rsa, b.ptr, c.ptr + 4 * i0 * ldc, Math.min(per, M - i0), N, batch);
        }
      } else {
        job(a.ptr, b.ptr, c.ptr, M, N, batch);
      }
      k.pool.run(jobs);
    }
    c.copyBack?.();
    return C;
  } finally {
    for (const s of scratches) s.done();
  }
}

/** C ← beta · C over the M × N entries of each product (beta = 0 writes zeros, even over NaN). */
function scaleC(
  C: Float32Array,
  batch: number,
  sC: number,
  M: number,
  N: number,
  ldc: number,
  beta: number,
): void {
  if (beta === 1) return;
  for (let bi = 0; bi < batch; bi++)
    for (let i = 0; i < M; i++) {
      const o = bi * sC + i * ldc;
      if (beta === 0) C.fill(0, o, o + N);
      else for (let j = o; j < o + N; j++) C[j] *= beta;
    }
}
