/**
 * Row-wise softmax, log-softmax and logsumexp over the last axis.
 * Two kernel passes: a per-row logsumexp (max-shifted, so large logits do not overflow), then the map.
 * -Infinity entries are allowed (masked logits); a row that is entirely -Infinity is an error.
 */
import { runKernel } from './backend';
import { F32_MAX, assertNoNaN, clampInfinities } from './checks';
import { NonFiniteError, ShapeError } from './errors';
import type { KernelThis } from './kernel-this';
import { Tensor } from './tensor';

/** gpu.js kernel: logsumexp of row `thread.x`. */
export function rowLogSumExpKernel(this: KernelThis<{ cols: number }>, x: number[]): number {
  const base = this.thread.x * this.constants.cols;
  let m = -3.4e38;
  for (let j = 0; j < this.constants.cols; j++) m = Math.max(m, x[base + j]);
  let s = 0;
  for (let j = 0; j < this.constants.cols; j++) s += Math.exp(x[base + j] - m);
  return m + Math.log(s);
}

/** gpu.js kernel: softmax (mode 0) or log-softmax (mode 1) of cell [y][x] given the row's logsumexp. */
export function rowSoftmaxKernel(
  this: KernelThis<{ cols: number; mode: number }>,
  x: number[],
  lse: number[],
): number {
  const v = x[this.thread.y * this.constants.cols + this.thread.x] - lse[this.thread.y];
  if (this.constants.mode === 1) return v;
  return Math.exp(v);
}

function rowsCols(x: Tensor, op: string): [number, number] {
  if (x.rank < 1) throw new ShapeError(`${op}: needs at least one axis, got a scalar`);
  const cols = x.shape[x.rank - 1];
  if (cols === 0) throw new ShapeError(`${op}: last axis is empty in [${x.shape.join(', ')}]`);
  return [x.size / cols, cols];
}

function prepare(x: Tensor, op: string): Float32Array {
  assertNoNaN(x, op, 'x');
  const d = x.data;
  const [rows, cols] = rowsCols(x, op);
  for (let r = 0; r < rows; r++) {
    let anyFinite = false;
    for (let j = 0; j < cols; j++) {
      const v = d[r * cols + j];
      if (v === Infinity) throw new NonFiniteError(`${op}: +Infinity in row ${r} of [${x.shape.join(', ')}]`);
      if (v !== -Infinity) anyFinite = true;
    }
    if (!anyFinite)
      throw new NonFiniteError(`${op}: row ${r} of [${x.shape.join(', ')}] is entirely -Infinity`);
  }
  return clampInfinities(d);
}

function lseRows(data: Float32Array, rows: number, cols: number): Float32Array {
  return runKernel(
    { name: 'rowLogSumExp', fn: rowLogSumExpKernel, output: [rows], constants: { cols } },
    data,
  );
}

/** logsumexp over the last axis: shape [..., n] → [...]. */
export function logSumExp(x: Tensor): Tensor {
  const [rows, cols] = rowsCols(x, 'logSumExp');
  const data = prepare(x, 'logSumExp');
  return new Tensor(lseRows(data, rows, cols), x.shape.slice(0, -1));
}

function softmaxMode(x: Tensor, mode: 0 | 1, op: string): Tensor {
  const [rows, cols] = rowsCols(x, op);
  const data = prepare(x, op);
  const lse = lseRows(data, rows, cols);
  const out = runKernel(
    { name: 'rowSoftmax', fn: rowSoftmaxKernel, output: [cols, rows], constants: { cols, mode } },
    data,
    lse,
  );
  if (mode === 1) {
    // Masked (-Infinity) inputs stay -Infinity in log space, as they would in exact arithmetic.
    for (let i = 0; i < out.length; i++) if (x.data[i] === -Infinity) out[i] = -Infinity;
  }
  return new Tensor(out, x.shape);
}

/** Softmax over the last axis. */
export function softmax(x: Tensor): Tensor {
  return softmaxMode(x, 0, 'softmax');
}

/** Log-softmax over the last axis. */
export function logSoftmax(x: Tensor): Tensor {
  return softmaxMode(x, 1, 'logSoftmax');
}

function refLse(d: Float32Array, base: number, cols: number): number {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) m = Math.max(m, d[base + j]);
  let s = 0;
  for (let j = 0; j < cols; j++) s += Math.exp(d[base + j] - m);
  return m + Math.log(s);
}

/** Plain-TS references (float64). */
export function logSumExpReference(x: Tensor): Tensor {
  const [rows, cols] = rowsCols(x, 'logSumExp');
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) out[r] = refLse(x.data, r * cols, cols);
  return new Tensor(out, x.shape.slice(0, -1));
}

export function softmaxReference(x: Tensor): Tensor {
  const [rows, cols] = rowsCols(x, 'softmax');
  const out = new Float32Array(x.size);
  for (let r = 0; r < rows; r++) {
    const l = refLse(x.data, r * cols, cols);
    for (let j = 0; j < cols; j++) out[r * cols + j] = Math.exp(x.data[r * cols + j] - l);
  }
  return new Tensor(out, x.shape);
}

export function logSoftmaxReference(x: Tensor): Tensor {
  const [rows, cols] = rowsCols(x, 'logSoftmax');
  const out = new Float32Array(x.size);
  for (let r = 0; r < rows; r++) {
    const l = refLse(x.data, r * cols, cols);
    for (let j = 0; j < cols; j++) out[r * cols + j] = x.data[r * cols + j] - l;
  }
  return new Tensor(out, x.shape);
}

export { F32_MAX };
