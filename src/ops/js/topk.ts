/** Plain-TS top-k: one pass per row keeping a sorted list of the k best (O(n·k), stable on ties). */
import type { Tensor } from '../tensor';
import type { TopkPlan } from '../topk';

/** `topk` kernel of the js backend: indices [rows·k], value descending, ties by lower index. */
export function topkJs(x: Tensor, p: TopkPlan): Int32Array {
  const { rows, cols, k } = p;
  const d = x.data;
  const indices = new Int32Array(rows * k);
  const vals = new Float64Array(k);
  const idx = new Int32Array(k);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let count = 0;
    for (let i = 0; i < cols; i++) {
      const v = d[base + i];
      if (count === k && !(v > vals[k - 1])) continue;
      // Insert after every kept entry with value ≥ v (earlier indices win ties).
      let pos = count < k ? count : k - 1;
      while (pos > 0 && vals[pos - 1] < v) {
        vals[pos] = vals[pos - 1];
        idx[pos] = idx[pos - 1];
        pos--;
      }
      vals[pos] = v;
      idx[pos] = i;
      if (count < k) count++;
    }
    indices.set(idx, r * k);
  }
  return indices;
}
