/** Plain-TS row softmax / log-softmax / logsumexp: one pass for the max, one for the sum, one to write. */
import { rowOutputShape, type RowsPlan } from '../softmax';
import { Tensor } from '../tensor';

/** `rowSoftmax` kernel of the js backend (float64 row sums; -Infinity entries give 0 / -Infinity). */
export function rowSoftmaxJs(x: Tensor, p: RowsPlan): Tensor {
  const { rows, cols, mode } = p;
  const d = x.data;
  const out = new Float32Array(mode === 'logSumExp' ? rows : rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) {
      const v = d[base + j];
      if (v > m) m = v;
    }
    let s = 0;
    if (mode === 'softmax') {
      // Keep the exponentials (float32) and scale them: one exp per entry.
      for (let j = 0; j < cols; j++) s += out[base + j] = Math.exp(d[base + j] - m);
      const inv = 1 / s;
      for (let j = 0; j < cols; j++) out[base + j] *= inv;
      continue;
    }
    for (let j = 0; j < cols; j++) s += Math.exp(d[base + j] - m);
    const lse = m + Math.log(s);
    if (mode === 'logSumExp') out[r] = lse;
    else for (let j = 0; j < cols; j++) out[base + j] = d[base + j] - lse;
  }
  return new Tensor(out, rowOutputShape(x, p));
}
