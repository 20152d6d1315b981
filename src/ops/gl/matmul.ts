/**
 * gpu.js matmul / linear kernels (the `gl` backend). Two variants: a per-cell kernel (one output per
 * thread, flat 1-D output so its result can stay resident as a texture for the next GL op) and a
 * register-blocked kernel (four rows per thread returned as a vec4, read back to the host), used when
 * the result is wanted on the host anyway.
 */
import type { LinearPlan, MatmulPlan } from '../matmul';
import { Tensor } from '../tensor';
import type { KernelThis } from './kernel-this';
import { glResident, runKernel, runKernelResident, type KernelSpec } from './runtime';

interface MatmulConsts {
  K: number;
  M: number;
  N: number;
  aRow: number;
  aCol: number;
  bRow: number;
  bCol: number;
  aBatch: number;
  bBatch: number;
}

/** One output cell C[z][i][j] per thread over a flat output; strided reads cover all four layouts. */
export function matmulCellKernel(this: KernelThis<MatmulConsts>, a: number[], b: number[]): number {
  const o = this.thread.x;
  const zi = Math.floor((o + 0.5) / this.constants.N);
  const j = o - zi * this.constants.N;
  const z = Math.floor((zi + 0.5) / this.constants.M);
  const i = zi - z * this.constants.M;
  const aBase = z * this.constants.aBatch + i * this.constants.aRow;
  const bBase = z * this.constants.bBatch + j * this.constants.bCol;
  let sum = 0;
  for (let k = 0; k < this.constants.K; k++) {
    sum += a[aBase + k * this.constants.aCol] * b[bBase + k * this.constants.bRow];
  }
  return sum;
}

/**
 * Register-blocked: one thread computes column x of four consecutive rows 4y..4y+3 (a vec4), so each
 * read of B is reused four times. Rows past M are clamped to the last row and discarded by the host.
 */
export function matmulRowBlockKernel(this: KernelThis<MatmulConsts>, a: number[], b: number[]): number[] {
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

function consts(p: MatmulPlan): MatmulConsts {
  const { K, M, N, aRow, aCol, bRow, bCol, aBatch, bBatch } = p;
  return { K, M, N, aRow, aCol, bRow, bCol, aBatch, bBatch };
}

/** `matmul` on GL: resident per-cell kernel (default), or the host-side register-blocked kernel. */
export function matmulGl(a: Tensor, b: Tensor, p: MatmulPlan): Tensor {
  const c = consts(p);
  if (glResident() || p.M < 4) {
    const spec: KernelSpec<MatmulConsts> = {
      name: 'matmulCell',
      fn: matmulCellKernel,
      output: [p.batch * p.M * p.N],
      constants: c,
    };
    return glResident() ? runKernelResident(spec, p.shape, a, b) : new Tensor(runKernel(spec, a, b), p.shape);
  }
  const out = runKernel(
    {
      name: 'matmulRowBlock',
      fn: matmulRowBlockKernel,
      output: [p.N, Math.ceil(p.M / 4), p.batch],
      constants: c,
      vec4: true,
    },
    a,
    b,
  );
  return new Tensor(unblockRows(out, p.batch, p.M, p.N), p.shape);
}

/** gpu.js kernel: y = x·Wᵀ + b over a flat [M·N] output. */
export function linearKernel(
  this: KernelThis<{ K: number; N: number; hasBias: number }>,
  x: number[],
  w: number[],
  bias: number[],
): number {
  const o = this.thread.x;
  const i = Math.floor((o + 0.5) / this.constants.N);
  const j = o - i * this.constants.N;
  let s = 0;
  for (let k = 0; k < this.constants.K; k++) s += x[i * this.constants.K + k] * w[j * this.constants.K + k];
  if (this.constants.hasBias > 0.5) s += bias[j];
  return s;
}

/** `linear` on GL (resident output). */
export function linearGl(x: Tensor, w: Tensor, bias: Tensor | undefined, p: LinearPlan): Tensor {
  const spec: KernelSpec<{ K: number; N: number; hasBias: number }> = {
    name: 'linear',
    fn: linearKernel,
    output: [p.M * p.N],
    constants: { K: p.K, N: p.N, hasBias: bias ? 1 : 0 },
  };
  const b = bias ?? new Float32Array(1);
  return glResident()
    ? runKernelResident(spec, p.shape, x, w, b)
    : new Tensor(runKernel(spec, x, w, b), p.shape);
}
