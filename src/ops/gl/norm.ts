/** gpu.js RMSNorm / LayerNorm: a per-row statistics kernel, then an apply kernel over a flat output. */
import type { NormPlan } from '../norm';
import type { Tensor } from '../tensor';
import type { KernelThis } from './kernel-this';
import { runResidentOrHost } from './resident';

/** gpu.js kernel: 1 / sqrt(mean(x²) + eps) of row `thread.x`. */
export function rmsInvKernel(this: KernelThis<{ cols: number; eps: number }>, x: number[]): number {
  const base = this.thread.x * this.constants.cols;
  let s = 0;
  for (let j = 0; j < this.constants.cols; j++) s += x[base + j] * x[base + j];
  return 1 / Math.sqrt(s / this.constants.cols + this.constants.eps);
}

/** gpu.js kernel: row mean (even cells) or 1/std (odd cells) of row ⌊x/2⌋, two-pass for accuracy. */
export function layerStatsKernel(this: KernelThis<{ cols: number; eps: number }>, x: number[]): number {
  const r = Math.floor((this.thread.x + 0.5) / 2);
  const base = r * this.constants.cols;
  let s = 0;
  for (let j = 0; j < this.constants.cols; j++) s += x[base + j];
  const mean = s / this.constants.cols;
  if (this.thread.x - 2 * r < 0.5) return mean;
  let v = 0;
  for (let j = 0; j < this.constants.cols; j++) {
    const d = x[base + j] - mean;
    v += d * d;
  }
  return 1 / Math.sqrt(v / this.constants.cols + this.constants.eps);
}

/** gpu.js kernel: x·inv[row]·w[col] (RMSNorm apply) over a flat output. */
export function rmsApplyKernel(
  this: KernelThis<{ cols: number }>,
  x: number[],
  inv: number[],
  w: number[],
): number {
  const o = this.thread.x;
  const r = Math.floor((o + 0.5) / this.constants.cols);
  return x[o] * inv[r] * w[o - r * this.constants.cols];
}

/** gpu.js kernel: (x − mean)·invStd·γ + β (LayerNorm apply) over a flat output. */
export function layerApplyKernel(
  this: KernelThis<{ cols: number }>,
  x: number[],
  stats: number[],
  gamma: number[],
  beta: number[],
): number {
  const o = this.thread.x;
  const r = Math.floor((o + 0.5) / this.constants.cols);
  const c = o - r * this.constants.cols;
  return (x[o] - stats[2 * r]) * stats[2 * r + 1] * gamma[c] + beta[c];
}

/** `rmsNorm` on GL. */
export function rmsNormGl(x: Tensor, weight: Tensor, p: NormPlan): Tensor {
  const inv = runResidentOrHost(
    { name: 'rmsInv', fn: rmsInvKernel, output: [p.rows], constants: { cols: p.cols, eps: p.eps } },
    [p.rows],
    x,
  );
  return runResidentOrHost(
    { name: 'rmsApply', fn: rmsApplyKernel, output: [p.rows * p.cols], constants: { cols: p.cols } },
    x.shape,
    x,
    inv,
    weight,
  );
}

/** `layerNorm` on GL. */
export function layerNormGl(x: Tensor, gamma: Tensor, beta: Tensor, p: NormPlan): Tensor {
  const stats = runResidentOrHost(
    {
      name: 'layerStats',
      fn: layerStatsKernel,
      output: [2 * p.rows],
      constants: { cols: p.cols, eps: p.eps },
    },
    [2 * p.rows],
    x,
  );
  return runResidentOrHost(
    { name: 'layerApply', fn: layerApplyKernel, output: [p.rows * p.cols], constants: { cols: p.cols } },
    x.shape,
    x,
    stats,
    gamma,
    beta,
  );
}
