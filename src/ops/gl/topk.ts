/**
 * gpu.js top-k: each output slot r of a row finds its entry by r+1 selection passes over the row
 * (O(k²·n) per row, parallel over rows and slots), which suits the small k of next-token inspection.
 */
import { clampInfinities } from '../checks';
import type { Tensor } from '../tensor';
import type { TopkPlan } from '../topk';
import type { KernelThis } from './kernel-this';
import { runKernel } from './runtime';

/** gpu.js kernel over flat [rows·k]: index of the r-th largest entry of the row. */
export function topkIndexKernel(this: KernelThis<{ cols: number; k: number }>, x: number[]): number {
  const row = Math.floor((this.thread.x + 0.5) / this.constants.k);
  const r = this.thread.x - row * this.constants.k;
  const base = row * this.constants.cols;
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

/** `topk` on GL: indices read back to the host. */
export function topkGl(x: Tensor, p: TopkPlan): Int32Array {
  const idx = runKernel(
    { name: 'topkIndex', fn: topkIndexKernel, output: [p.k * p.rows], constants: { cols: p.cols, k: p.k } },
    clampInfinities(x.data),
  );
  return Int32Array.from(idx, (v) => Math.round(v));
}
