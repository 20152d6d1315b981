/** Training examples as the trainer sees them, and the row gathering of minibatches. */
import { ShapeError } from '../ops';
import { NonFiniteError } from '../errors';
import type { MatrixLike, Matrix64 } from './types';

/**
 * n examples. `x` [n, d] are the inputs (for Bradley–Terry: the chosen responses' features, with the
 * rejected ones in `xRejected` [n, d]). `labels` are class indices (cross-entropy), `targets` [n, k]
 * soft targets (KL / soft cross-entropy) or regression targets (squared error). `weights` are
 * optional per-example loss weights (see `Reduction` for how they enter the loss).
 */
export interface Dataset {
  readonly x: MatrixLike;
  readonly xRejected?: MatrixLike;
  readonly labels?: ArrayLike<number>;
  readonly targets?: MatrixLike;
  readonly weights?: ArrayLike<number>;
}

/** Number of examples n of a dataset (rows of x), checking that every field has n rows. */
export function exampleCount(data: Dataset, what = 'dataset'): number {
  if (data.x.shape.length !== 2) {
    throw new ShapeError(`${what}: x must be [examples, features], got [${data.x.shape.join(', ')}]`);
  }
  const n = data.x.shape[0];
  const check = (len: number, field: string): void => {
    if (len !== n) throw new ShapeError(`${what}: ${field} has ${len} rows but x has ${n}`);
  };
  if (data.xRejected) {
    check(data.xRejected.shape[0], 'xRejected');
    if (data.xRejected.shape[1] !== data.x.shape[1]) {
      throw new ShapeError(
        `${what}: xRejected has ${data.xRejected.shape[1]} features but x has ${data.x.shape[1]}`,
      );
    }
  }
  if (data.labels) check(data.labels.length, 'labels');
  if (data.targets) check(data.targets.shape[0], 'targets');
  if (data.weights) {
    check(data.weights.length, 'weights');
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(data.weights[i])) {
        throw new NonFiniteError(`${what}: weight of example ${i} is ${data.weights[i]}`);
      }
    }
  }
  return n;
}

function gatherRows(m: MatrixLike, idx: ArrayLike<number>): Matrix64 {
  const c = m.shape[1];
  const out = new Float64Array(idx.length * c);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    for (let j = 0; j < c; j++) out[i * c + j] = m.data[r * c + j];
  }
  return { data: out, shape: [idx.length, c] };
}

/** The examples `idx` of a dataset (a minibatch), as float64 copies. */
export function subset(data: Dataset, idx: ArrayLike<number>): Dataset {
  const pick = (v: ArrayLike<number>): Float64Array =>
    Float64Array.from({ length: idx.length }, (_, i) => v[idx[i]]);
  return {
    x: gatherRows(data.x, idx),
    xRejected: data.xRejected && gatherRows(data.xRejected, idx),
    labels: data.labels && Int32Array.from({ length: idx.length }, (_, i) => data.labels![idx[i]]),
    targets: data.targets && gatherRows(data.targets, idx),
    weights: data.weights && pick(data.weights),
  };
}

/** The forward pass's input rows: x, then (Bradley–Terry) xRejected below it. */
export function stackInputs(data: Dataset, pairs: boolean): MatrixLike {
  if (!pairs) return data.x;
  if (!data.xRejected)
    throw new ShapeError('Bradley–Terry needs xRejected (the rejected responses) beside x');
  const [n, d] = data.x.shape;
  const out = new Float64Array(2 * n * d);
  for (let i = 0; i < n * d; i++) {
    out[i] = data.x.data[i];
    out[n * d + i] = data.xRejected.data[i];
  }
  return { data: out, shape: [2 * n, d] };
}
