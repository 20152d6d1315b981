/**
 * Row top-k over the last axis: the k largest values and their indices, in descending order, ties
 * broken by the lower index. On the backend each output slot r of a row finds its entry by r+1
 * selection passes over the row (O(k²·n) work per row, fully parallel over rows and slots), which
 * suits the small k used for next-token inspection; values are then read back from the input so they
 * are exact.
 */
import { assertNoNaN } from './checks';
import { ShapeError } from './errors';
import { dispatch } from './registry';
import { Tensor } from './tensor';
import type { TopkPlan } from './plans';
export type { TopkPlan } from './plans';

export interface TopK {
  values: Tensor;
  /** Indices as a plain Int32Array, shape [..., k]. */
  indices: Int32Array;
  shape: number[];
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

/** Top-k of each row on the selected backend. */
export function topk(x: Tensor, k: number): TopK {
  const [rows, cols] = check(x, k);
  if (rows === 0) return gather(x, new Int32Array(0), 0, cols, k);
  return gather(x, dispatch('topk', x, { rows, cols, k }), rows, cols, k);
}

/** Plain-TS reference for `topk` (stable sort per row). */
export function topkReference(x: Tensor, k: number): TopK {
  const [rows, cols] = check(x, k);
  return gather(x, topkRef(x, { rows, cols, k }), rows, cols, k);
}

/** Reference kernel of `topk`: indices [rows·k] by a stable sort of each row. */
export function topkRef(x: Tensor, p: TopkPlan): Int32Array {
  const { rows, cols, k } = p;
  const indices = new Int32Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const order = Array.from({ length: cols }, (_, i) => i);
    order.sort((i, j) => x.data[r * cols + j] - x.data[r * cols + i] || i - j);
    for (let j = 0; j < k; j++) indices[r * k + j] = order[j];
  }
  return indices;
}
