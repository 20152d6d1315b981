/** Evaluation helpers: probabilities, accuracy, pairwise accuracy and dataset loss of a model. */
import { exampleCount, type Dataset } from './data';
import { lossValue, type Reduction } from './grad';
import type { Loss } from './losses';
import { logSoftmaxRows } from './losses';
import type { Mlp } from './mlp';
import type { MatrixLike, Matrix64 } from './types';

const EVAL_BATCH = 2048;

/** Class probabilities softmax(outputs) in eval mode, [n, classes]. */
export function predictProbs(model: Mlp, x: MatrixLike): Matrix64 {
  const z = model.forward(x, { batchSize: EVAL_BATCH });
  const [n, c] = z.shape;
  const p = logSoftmaxRows(z.data, n, c);
  for (let i = 0; i < p.length; i++) p[i] = Math.exp(p[i]);
  return { data: p, shape: [n, c] };
}

/** Fraction of rows whose arg-max output equals the label (first maximum wins ties). */
export function accuracy(model: Mlp, x: MatrixLike, labels: ArrayLike<number>): number {
  const z = model.forward(x, { batchSize: EVAL_BATCH });
  const [n, c] = z.shape;
  let hit = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (z.data[i * c + j] > z.data[i * c + best]) best = j;
    if (best === labels[i]) hit++;
  }
  return n === 0 ? NaN : hit / n;
}

/** Fraction of pairs whose chosen reward exceeds the rejected one (ties count half). */
export function pairwiseAccuracy(model: Mlp, xChosen: MatrixLike, xRejected: MatrixLike): number {
  const a = model.forward(xChosen, { batchSize: EVAL_BATCH }).data;
  const b = model.forward(xRejected, { batchSize: EVAL_BATCH }).data;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] > b[i] ? 1 : a[i] === b[i] ? 0.5 : 0;
  return a.length === 0 ? NaN : s / a.length;
}

/** The reduced loss over a whole dataset in eval mode (one pass, batched internally by the model). */
export function datasetLoss(model: Mlp, data: Dataset, loss: Loss, reduction: Reduction = 'mean'): number {
  exampleCount(data, 'datasetLoss');
  return lossValue(model, data, loss, { reduction });
}
