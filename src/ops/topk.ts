/**
 * Row top-k over the last axis: the k largest values and their indices, in descending order, ties
 * broken by the lower index. On the backend each output slot r of a row finds its entry by r+1
 * selection passes over the row (O(k²·n) work per row, fully parallel over rows and slots), which
 * suits the small k used for next-token inspection; values are then read back from the input so they
 * are exact.
 */
import { runKernel } from './backend';
import { assertNoNaN, clampInfinities } from './checks';
import { ShapeError } from './errors';
import type { KernelThis } from './kernel-this';
import { Tensor } from './tensor';

export interface TopK {
  values: Tensor;
  /** Indices as a plain Int32Array, shape [..., k]. */
  indices: Int32Array;
  shape: number[];
}

/** gpu.js kernel over [k, rows]: index of the r-th largest entry of the row. */
export function topkIndexKernel(this: KernelThis<{ cols: number }>, x: number[]): number {
  const r = this.thread.x;
  const base = this.thread.y * this.constants.cols;
  let prevV = 3.5e38;
  let prevI = -1;
  let bestI = -1;
  for (let pass = 0; pass <= r; pass++) {
    let bestV = -3.5e38;
    bestI = -1;
    for (let i = 0; i < this.constants.cols; i++) {
      const v = x[base + i];
      const eligible = v < prevV || (v === prevV && i > prevI);
      if (eligible && (bestI < 0 || v > bestV)) {
        bestV = v;
        bestI = i;
      }
    }
    prevV = bestV;
    prevI = bestI;
  }
  return bestI;
}

function check(x: Tensor, k: number): [number, number] {
  if (x.rank < 1) throw new ShapeError('topk: needs at least one axis');
  const cols = x.shape[x.rank - 1];
  if (!Number.isInteger(k) || k < 1 || k > cols) {
    throw new ShapeError(`topk: k = ${k} must be an integer in 1..${cols} for last axis of size ${cols}`);
  }
  assertNoNaN(x, 'topk', 'x');
  return [x.size / cols, cols];
}

function gather(x: Tensor, indices: Int32Array, rows: number, cols: number, k: number): TopK {
  const values = new Float32Array(rows * k);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < k; j++) values[r * k + j] = x.data[r * cols + indices[r * k + j]];
  const shape = [...x.shape.slice(0, -1), k];
  return { values: new Tensor(values, shape), indices, shape };
}

/** Top-k of each row on the current backend. */
export function topk(x: Tensor, k: number): TopK {
  const [rows, cols] = check(x, k);
  if (rows === 0) return gather(x, new Int32Array(0), 0, cols, k);
  const idx = runKernel(
    { name: 'topkIndex', fn: topkIndexKernel, output: [k, rows], constants: { cols } },
    clampInfinities(x.data),
  );
  return gather(
    x,
    Int32Array.from(idx, (v) => Math.round(v)),
    rows,
    cols,
    k,
  );
}

/** Plain-TS reference for `topk` (stable sort per row). */
export function topkReference(x: Tensor, k: number): TopK {
  const [rows, cols] = check(x, k);
  const indices = new Int32Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const order = Array.from({ length: cols }, (_, i) => i);
    order.sort((i, j) => x.data[r * cols + j] - x.data[r * cols + i] || i - j);
    for (let j = 0; j < k; j++) indices[r * k + j] = order[j];
  }
  return gather(x, indices, rows, cols, k);
}
