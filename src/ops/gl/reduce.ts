/** gpu.js reduction along one axis of x viewed as [outer, L, inner], flat [outer·inner] output. */
import type { ReducePlan, Reduction } from '../reduce';
import type { Tensor } from '../tensor';
import type { KernelThis } from './kernel-this';
import { runResidentOrHost } from './resident';

const CODES: Record<Reduction, number> = { sum: 0, mean: 1, variance: 2, max: 3, min: 4 };

/** gpu.js kernel over flat [outer·inner]: reduce x[outer, 0..L, inner] along the middle axis. */
export function reduceKernel(
  this: KernelThis<{ L: number; inner: number; op: number; ddof: number }>,
  x: number[],
): number {
  const y = Math.floor((this.thread.x + 0.5) / this.constants.inner);
  const base = y * this.constants.L * this.constants.inner + (this.thread.x - y * this.constants.inner);
  const step = this.constants.inner;
  const op = this.constants.op;
  if (op === 3 || op === 4) {
    let m = x[base];
    for (let i = 1; i < this.constants.L; i++) {
      const v = x[base + i * step];
      if (op === 3) m = Math.max(m, v);
      else m = Math.min(m, v);
    }
    return m;
  }
  let s = 0;
  for (let i = 0; i < this.constants.L; i++) s += x[base + i * step];
  if (op === 0) return s;
  const mean = s / this.constants.L;
  if (op === 1) return mean;
  let v = 0;
  for (let i = 0; i < this.constants.L; i++) {
    const d = x[base + i * step] - mean;
    v += d * d;
  }
  return v / (this.constants.L - this.constants.ddof);
}

/** `reduce` on GL. */
export function reduceGl(op: Reduction, x: Tensor, p: ReducePlan): Tensor {
  return runResidentOrHost(
    {
      name: 'reduce',
      fn: reduceKernel,
      output: [p.outer * p.inner],
      constants: { L: p.L, inner: p.inner, op: CODES[op], ddof: p.ddof },
    },
    p.shape,
    x,
  );
}
