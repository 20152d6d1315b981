/** gpu.js row kernels: a per-row logsumexp (max-shifted), then the (log-)softmax map over a flat output. */
import { clampInfinities } from '../checks';
import { rowOutputShape, type RowsPlan } from '../softmax';
import { Tensor } from '../tensor';
import type { KernelThis } from './kernel-this';
import { glResident, runKernel, runKernelResident, type KernelSpec } from './runtime';

/** gpu.js kernel: logsumexp of row `thread.x`. */
export function rowLogSumExpKernel(this: KernelThis<{ cols: number }>, x: number[]): number {
  const base = this.thread.x * this.constants.cols;
  let m = -3.4e38;
  for (let j = 0; j < this.constants.cols; j++) m = Math.max(m, x[base + j]);
  let s = 0;
  for (let j = 0; j < this.constants.cols; j++) s += Math.exp(x[base + j] - m);
  return m + Math.log(s);
}

/** gpu.js kernel: softmax (mode 0) or log-softmax (mode 1) of flat cell `thread.x` given its row's logsumexp. */
export function rowSoftmaxKernel(
  this: KernelThis<{ cols: number; mode: number }>,
  x: number[],
  lse: number[],
): number {
  const o = this.thread.x;
  const r = Math.floor((o + 0.5) / this.constants.cols);
  const v = x[o] - lse[r];
  if (this.constants.mode === 1) return v;
  return Math.exp(v);
}

/** `rowSoftmax` on GL. -Infinity (masked) logits are clamped to −F32_MAX on the way in and restored. */
export function rowSoftmaxGl(x: Tensor, p: RowsPlan): Tensor {
  const { rows, cols } = p;
  const input = p.masked ? clampInfinities(x.data) : x;
  const resident = glResident() && !p.masked;
  const lseSpec: KernelSpec<{ cols: number }> = {
    name: 'rowLogSumExp',
    fn: rowLogSumExpKernel,
    output: [rows],
    constants: { cols },
  };
  const shape = rowOutputShape(x, p);
  if (p.mode === 'logSumExp') {
    return resident ? runKernelResident(lseSpec, shape, input) : new Tensor(runKernel(lseSpec, input), shape);
  }
  const lse = resident ? runKernelResident(lseSpec, [rows], input) : runKernel(lseSpec, input);
  const spec: KernelSpec<{ cols: number; mode: number }> = {
    name: 'rowSoftmax',
    fn: rowSoftmaxKernel,
    output: [rows * cols],
    constants: { cols, mode: p.mode === 'logSoftmax' ? 1 : 0 },
  };
  if (resident) return runKernelResident(spec, shape, input, lse);
  const out = runKernel(spec, input, lse);
  if (p.mode === 'logSoftmax' && p.masked) {
    // Masked inputs stay -Infinity in log space, as in exact arithmetic.
    const d = x.data;
    for (let i = 0; i < out.length; i++) if (d[i] === -Infinity) out[i] = -Infinity;
  }
  if (p.mode === 'softmax' && p.masked) {
    const d = x.data;
    for (let i = 0; i < out.length; i++) if (d[i] === -Infinity) out[i] = 0;
  }
  return new Tensor(out, shape);
}
