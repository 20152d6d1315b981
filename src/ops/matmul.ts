/**
 * Batched matrix multiplication C[b] = op(A[b]) · op(B[b]) with op = identity or transpose.
 * A batch of size 1 broadcasts against the other operand's batch.
 */
import { getBackend, runKernel, runKernelAsync, type KernelSpec } from './backend';
import { assertFinite, assertRank } from './checks';
import { ShapeError } from './errors';
import type { KernelThis } from './kernel-this';
import { Tensor } from './tensor';

export interface MatmulOptions {
  /** Treat A's last two axes as transposed (A stored as [.., K, M]). */
  transA?: boolean;
  /** Treat B's last two axes as transposed (B stored as [.., N, K]); the fast layout. */
  transB?: boolean;
}

interface MatmulConsts {
  K: number;
  aRow: number;
  aCol: number;
  bRow: number;
  bCol: number;
  aBatch: number;
  bBatch: number;
}

/** gpu.js kernel: one output cell C[z][y][x] per thread, strided reads cover all four layouts. */
export function matmulKernel(this: KernelThis<MatmulConsts>, a: number[], b: number[]): number {
  const aBase = this.thread.z * this.constants.aBatch + this.thread.y * this.constants.aRow;
  const bBase = this.thread.z * this.constants.bBatch + this.thread.x * this.constants.bCol;
  let sum = 0;
  for (let k = 0; k < this.constants.K; k++) {
    sum += a[aBase + k * this.constants.aCol] * b[bBase + k * this.constants.bRow];
  }
  return sum;
}

/**
 * gpu.js kernel for the A·Bᵀ layout (both operands read along contiguous rows), four partial sums so
 * the WebAssembly backend can keep independent accumulators in flight. K must be a multiple of 4.
 */
export function matmulNTKernel(this: KernelThis<MatmulConsts>, a: number[], b: number[]): number {
  const aBase = this.thread.z * this.constants.aBatch + this.thread.y * this.constants.aRow;
  const bBase = this.thread.z * this.constants.bBatch + this.thread.x * this.constants.bCol;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let k = 0; k < this.constants.K; k += 4) {
    s0 += a[aBase + k] * b[bBase + k];
    s1 += a[aBase + k + 1] * b[bBase + k + 1];
    s2 += a[aBase + k + 2] * b[bBase + k + 2];
    s3 += a[aBase + k + 3] * b[bBase + k + 3];
  }
  return s0 + s1 + s2 + s3;
}

/**
 * gpu.js kernel, register-blocked: one thread computes a column x of four consecutive rows 4y..4y+3
 * (returned as a vec4), so each read of B is reused four times. On webasm the four lanes of a SIMD
 * quad are four neighbouring columns: B is gathered once per k for 16 multiply-adds instead of 4.
 * Rows past M (when M is not a multiple of 4) are clamped to the last row and discarded by the host.
 */
export function matmulRowBlockKernel(
  this: KernelThis<MatmulConsts & { M: number }>,
  a: number[],
  b: number[],
): number[] {
  const aBatch = this.thread.z * this.constants.aBatch;
  const r0 = aBatch + Math.min(4 * this.thread.y, this.constants.M - 1) * this.constants.aRow;
  const r1 = aBatch + Math.min(4 * this.thread.y + 1, this.constants.M - 1) * this.constants.aRow;
  const r2 = aBatch + Math.min(4 * this.thread.y + 2, this.constants.M - 1) * this.constants.aRow;
  const r3 = aBatch + Math.min(4 * this.thread.y + 3, this.constants.M - 1) * this.constants.aRow;
  const bBase = this.thread.z * this.constants.bBatch + this.thread.x * this.constants.bCol;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let k = 0; k < this.constants.K; k++) {
    const bv = b[bBase + k * this.constants.bRow];
    const ak = k * this.constants.aCol;
    s0 += a[r0 + ak] * bv;
    s1 += a[r1 + ak] * bv;
    s2 += a[r2 + ak] * bv;
    s3 += a[r3 + ak] * bv;
  }
  return [s0, s1, s2, s3];
}

/** Scatter the row-blocked kernel's [batch][M/4][N][4] output into a row-major [batch][M][N]. */
function unblockRows(blocked: Float32Array, batch: number, M: number, N: number): Float32Array {
  const Mb = Math.ceil(M / 4);
  const out = new Float32Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    for (let y = 0; y < Mb; y++) {
      const rows = Math.min(4, M - 4 * y);
      for (let x = 0; x < N; x++) {
        const src = ((z * Mb + y) * N + x) * 4;
        for (let r = 0; r < rows; r++) out[(z * M + 4 * y + r) * N + x] = blocked[src + r];
      }
    }
  }
  return out;
}

interface MatmulPlan {
  batch: number;
  M: number;
  K: number;
  N: number;
  consts: MatmulConsts;
}

function plan(a: Tensor, b: Tensor, opts: MatmulOptions): MatmulPlan {
  assertRank(a, [2, 3], 'matmul', 'A');
  assertRank(b, [2, 3], 'matmul', 'B');
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const M = opts.transA ? ac : ar;
  const Ka = opts.transA ? ar : ac;
  const Kb = opts.transB ? bc : br;
  const N = opts.transB ? br : bc;
  if (Ka !== Kb) {
    throw new ShapeError(
      `matmul: inner dimensions differ: A [${a.shape.join(', ')}]${opts.transA ? 'ᵀ' : ''} · B [${b.shape.join(', ')}]${opts.transB ? 'ᵀ' : ''} (${Ka} vs ${Kb})`,
    );
  }
  const ba = a.rank === 3 ? a.shape[0] : 1;
  const bb = b.rank === 3 ? b.shape[0] : 1;
  if (ba !== bb && ba !== 1 && bb !== 1) {
    throw new ShapeError(`matmul: batch sizes ${ba} and ${bb} do not broadcast`);
  }
  const batch = Math.max(ba, bb);
  return {
    batch,
    M,
    K: Ka,
    N,
    consts: {
      K: Ka,
      aRow: opts.transA ? 1 : ac,
      aCol: opts.transA ? ac : 1,
      bRow: opts.transB ? 1 : bc,
      bCol: opts.transB ? bc : 1,
      aBatch: ba === 1 ? 0 : ar * ac,
      bBatch: bb === 1 ? 0 : br * bc,
    },
  };
}

function resultShape(a: Tensor, b: Tensor, p: MatmulPlan): number[] {
  return a.rank === 3 || b.rank === 3 ? [p.batch, p.M, p.N] : [p.M, p.N];
}

/** Which kernel variant a product of this shape uses (exposed for benchmarks and tests). */
export type MatmulVariant = 'rowBlock' | 'nt4' | 'cell';

/** Choose the kernel: row blocks when there are enough rows to share B reads, else per-cell kernels. */
export function matmulVariant(M: number, K: number, opts: MatmulOptions): MatmulVariant {
  if (M >= 4) return 'rowBlock';
  if (opts.transB === true && opts.transA !== true && K % 4 === 0 && getBackend() !== 'headlessgl')
    return 'nt4';
  return 'cell';
}

function prepared(
  a: Tensor,
  b: Tensor,
  opts: MatmulOptions,
): { p: MatmulPlan; shape: number[]; empty: boolean } {
  const p = plan(a, b, opts);
  assertFinite(a, 'matmul', 'A');
  assertFinite(b, 'matmul', 'B');
  const shape = resultShape(a, b, p);
  return { p, shape, empty: p.M === 0 || p.N === 0 || p.batch === 0 || p.K === 0 };
}

function specFor(p: MatmulPlan, variant: MatmulVariant): KernelSpec<MatmulConsts & { M: number }> {
  if (variant === 'rowBlock') {
    return {
      name: 'matmulRowBlock',
      fn: matmulRowBlockKernel,
      output: [p.N, Math.ceil(p.M / 4), p.batch],
      constants: { ...p.consts, M: p.M },
      vec4: true,
    };
  }
  return {
    name: variant === 'nt4' ? 'matmulNT' : 'matmul',
    fn: variant === 'nt4' ? matmulNTKernel : matmulKernel,
    output: [p.N, p.M, p.batch],
    constants: { ...p.consts, M: p.M },
  };
}

/** Batched matmul on the current backend. Shapes: A [B?, M, K], B [B?, K, N] (before transposes). */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const { p, shape, empty } = prepared(a, b, opts);
  if (empty) return Tensor.zeros(shape);
  const variant = matmulVariant(p.M, p.K, opts);
  const out = runKernel(specFor(p, variant), a.data, b.data);
  return new Tensor(variant === 'rowBlock' ? unblockRows(out, p.batch, p.M, p.N) : out, shape);
}

/**
 * `matmul` under gpu.js's async contract: on `webasm` the output is split across worker threads (one
 * per core). Same result as `matmul`; use it for large products where the threads pay off.
 */
export async function matmulAsync(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Promise<Tensor> {
  const { p, shape, empty } = prepared(a, b, opts);
  if (empty) return Tensor.zeros(shape);
  const variant = matmulVariant(p.M, p.K, opts);
  const out = await runKernelAsync(specFor(p, variant), a.data, b.data);
  return new Tensor(variant === 'rowBlock' ? unblockRows(out, p.batch, p.M, p.N) : out, shape);
}

/** Plain-TS reference (float64 accumulation) with the same semantics as `matmul`. */
export function matmulReference(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const p = plan(a, b, opts);
  const { K, aRow, aCol, bRow, bCol, aBatch, bBatch } = p.consts;
  const out = new Float32Array(p.batch * p.M * p.N);
  for (let z = 0; z < p.batch; z++) {
    for (let i = 0; i < p.M; i++) {
      for (let j = 0; j < p.N; j++) {
        let s = 0;
        const ab = z * aBatch + i * aRow;
        const bb = z * bBatch + j * bCol;
        for (let k = 0; k < K; k++) s += a.data[ab + k * aCol] * b.data[bb + k * bRow];
        out[(z * p.M + i) * p.N + j] = s;
      }
    }
  }
  return new Tensor(out, resultShape(a, b, p));
}
