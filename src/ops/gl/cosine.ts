/** gpu.js cosine matrix: row norms, then one kernel per output cell dividing the dot product by both norms. */
import type { CosinePlan } from '../cosine';
import type { Tensor } from '../tensor';
import type { KernelThis } from './kernel-this';
import { runResidentOrHost } from './resident';

/** gpu.js kernel: L2 norm of row `thread.x`. */
export function rowNormKernel(this: KernelThis<{ cols: number }>, x: number[]): number {
  const base = this.thread.x * this.constants.cols;
  let s = 0;
  for (let j = 0; j < this.constants.cols; j++) s += x[base + j] * x[base + j];
  return Math.sqrt(s);
}

/** gpu.js kernel: cos(a_i, b_j) over a flat [n·m] output. */
export function cosineKernel(
  this: KernelThis<{ d: number; m: number }>,
  a: number[],
  b: number[],
  na: number[],
  nb: number[],
): number {
  const o = this.thread.x;
  const i = Math.floor((o + 0.5) / this.constants.m);
  const j = o - i * this.constants.m;
  let s = 0;
  for (let k = 0; k < this.constants.d; k++) s += a[i * this.constants.d + k] * b[j * this.constants.d + k];
  return s / (na[i] * nb[j]);
}

/** `cosine` on GL. */
export function cosineGl(a: Tensor, b: Tensor, p: CosinePlan): Tensor {
  const na = runResidentOrHost(
    { name: 'rowNorm', fn: rowNormKernel, output: [p.n], constants: { cols: p.d } },
    [p.n],
    a,
  );
  const nb = runResidentOrHost(
    { name: 'rowNorm', fn: rowNormKernel, output: [p.m], constants: { cols: p.d } },
    [p.m],
    b,
  );
  return runResidentOrHost(
    { name: 'cosine', fn: cosineKernel, output: [p.n * p.m], constants: { d: p.d, m: p.m } },
    [p.n, p.m],
    a,
    b,
    na,
    nb,
  );
}
