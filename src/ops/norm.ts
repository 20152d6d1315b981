/** RMSNorm and LayerNorm over the last axis, with learned scale (and bias for LayerNorm). */
import { runKernel } from './backend';
import { assertFinite } from './checks';
import { ShapeError } from './errors';
import type { KernelThis } from './kernel-this';
import { Tensor } from './tensor';

/** gpu.js kernel: 1 / sqrt(mean(x²) + eps) of row `thread.x`. */
export function rmsInvKernel(this: KernelThis<{ cols: number; eps: number }>, x: number[]): number {
  const base = this.thread.x * this.constants.cols;
  let s = 0;
  for (let j = 0; j < this.constants.cols; j++) s += x[base + j] * x[base + j];
  return 1 / Math.sqrt(s / this.constants.cols + this.constants.eps);
}

/** gpu.js kernel: row mean (x = 0) or 1/std (x = 1) for row `thread.y`, two-pass for accuracy. */
export function layerStatsKernel(this: KernelThis<{ cols: number; eps: number }>, x: number[]): number {
  const base = this.thread.y * this.constants.cols;
  let s = 0;
  for (let j = 0; j < this.constants.cols; j++) s += x[base + j];
  const mean = s / this.constants.cols;
  if (this.thread.x === 0) return mean;
  let v = 0;
  for (let j = 0; j < this.constants.cols; j++) {
    const d = x[base + j] - mean;
    v += d * d;
  }
  return 1 / Math.sqrt(v / this.constants.cols + this.constants.eps);
}

/** gpu.js kernel: x·inv[row]·w[col] (RMSNorm apply). */
export function rmsApplyKernel(
  this: KernelThis<{ cols: number }>,
  x: number[],
  inv: number[],
  w: number[],
): number {
  return x[this.thread.y * this.constants.cols + this.thread.x] * inv[this.thread.y] * w[this.thread.x];
}

/** gpu.js kernel: (x − mean)·invStd·γ + β (LayerNorm apply). */
export function layerApplyKernel(
  this: KernelThis<{ cols: number }>,
  x: number[],
  stats: number[],
  gamma: number[],
  beta: number[],
): number {
  const r = this.thread.y;
  const c = this.thread.x;
  return (x[r * this.constants.cols + c] - stats[2 * r]) * stats[2 * r + 1] * gamma[c] + beta[c];
}

function checkParams(x: Tensor, op: string, params: [string, Tensor | undefined][]): [number, number] {
  if (x.rank < 1) throw new ShapeError(`${op}: input must have at least one axis`);
  const cols = x.shape[x.rank - 1];
  for (const [name, p] of params) {
    if (p && (p.rank !== 1 || p.shape[0] !== cols)) {
      throw new ShapeError(
        `${op}: ${name} has shape [${p.shape.join(', ')}], expected [${cols}] to match x [${x.shape.join(', ')}]`,
      );
    }
    if (p) assertFinite(p, op, name);
  }
  assertFinite(x, op, 'x');
  return [cols === 0 ? 0 : x.size / cols, cols];
}

/** RMSNorm: x / sqrt(mean(x²) + eps) · weight (LLaMA-family models). */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-5): Tensor {
  const [rows, cols] = checkParams(x, 'rmsNorm', [['weight', weight]]);
  if (x.size === 0) return Tensor.zeros(x.shape);
  const inv = runKernel(
    { name: 'rmsInv', fn: rmsInvKernel, output: [rows], constants: { cols, eps } },
    x.data,
  );
  const out = runKernel(
    { name: 'rmsApply', fn: rmsApplyKernel, output: [cols, rows], constants: { cols } },
    x.data,
    inv,
    weight.data,
  );
  return new Tensor(out, x.shape);
}

/** LayerNorm: (x − mean) / sqrt(var + eps) · gamma + beta (BERT-family models). */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-12): Tensor {
  const [rows, cols] = checkParams(x, 'layerNorm', [
    ['gamma', gamma],
    ['beta', beta],
  ]);
  if (x.size === 0) return Tensor.zeros(x.shape);
  const stats = runKernel(
    { name: 'layerStats', fn: layerStatsKernel, output: [2, rows], constants: { cols, eps } },
    x.data,
  );
  const out = runKernel(
    { name: 'layerApply', fn: layerApplyKernel, output: [cols, rows], constants: { cols } },
    x.data,
    stats,
    gamma.data,
    beta.data,
  );
  return new Tensor(out, x.shape);
}

/** Plain-TS reference for `rmsNorm`. */
export function rmsNormReference(x: Tensor, weight: Tensor, eps = 1e-5): Tensor {
  const [rows, cols] = checkParams(x, 'rmsNorm', [['weight', weight]]);
  const out = new Float32Array(x.size);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += x.data[r * cols + j] ** 2;
    const inv = 1 / Math.sqrt(s / cols + eps);
    for (let j = 0; j < cols; j++) out[r * cols + j] = x.data[r * cols + j] * inv * weight.data[j];
  }
  return new Tensor(out, x.shape);
}

/** Plain-TS reference for `layerNorm`. */
export function layerNormReference(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-12): Tensor {
  const [rows, cols] = checkParams(x, 'layerNorm', [
    ['gamma', gamma],
    ['beta', beta],
  ]);
  const out = new Float32Array(x.size);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += x.data[r * cols + j];
    const mean = s / cols;
    let v = 0;
    for (let j = 0; j < cols; j++) v += (x.data[r * cols + j] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / cols + eps);
    for (let j = 0; j < cols; j++)
      out[r * cols + j] = (x.data[r * cols + j] - mean) * inv * gamma.data[j] + beta.data[j];
  }
  return new Tensor(out, x.shape);
}
