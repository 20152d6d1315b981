/**
 * Batched matrix multiplication C[b] = op(A[b]) · op(B[b]) with op = identity or transpose.
 * A batch of size 1 broadcasts against the other operand's batch.
 */
import { getBackend, runKernel } from './backend';
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

/** Batched matmul on the current backend. Shapes: A [B?, M, K], B [B?, K, N] (before transposes). */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const p = plan(a, b, opts);
  assertFinite(a, 'matmul', 'A');
  assertFinite(b, 'matmul', 'B');
  const shape = resultShape(a, b, p);
  if (p.M === 0 || p.N === 0 || p.batch === 0) return Tensor.zeros(shape);
  if (p.K === 0) return Tensor.zeros(shape);
  const useNT =
    opts.transB === true && opts.transA !== true && p.K % 4 === 0 && getBackend() !== 'headlessgl';
  const out = runKernel(
    {
      name: useNT ? 'matmulNT' : 'matmul',
      fn: useNT ? matmulNTKernel : matmulKernel,
      output: [p.N, p.M, p.batch],
      constants: { ...p.consts },
    },
    a.data,
    b.data,
  );
  return new Tensor(out, shape);
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
