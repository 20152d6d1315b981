/** gpu.js rotary embedding over a flat [T·H·D] output (cos/sin tables computed on the host in float64). */
import type { RopePlan, RopeTables } from '../rope';
import type { Tensor } from '../tensor';
import type { KernelThis } from './kernel-this';
import { runResidentOrHost } from './resident';

/** gpu.js kernel over a flat output: rotate pair partners with the row's cos/sin. */
export function ropeKernel(
  this: KernelThis<{ H: number; D: number; half: number; interleaved: number }>,
  x: number[],
  cos: number[],
  sin: number[],
): number {
  const o = this.thread.x;
  const row = Math.floor((o + 0.5) / this.constants.D);
  const d = o - row * this.constants.D;
  const t = Math.floor((row + 0.5) / this.constants.H);
  const base = row * this.constants.D;
  if (this.constants.interleaved === 1) {
    const i = Math.floor((d + 0.5) / 2);
    const even = d - 2 * i;
    const c = cos[t * this.constants.half + i];
    const s = sin[t * this.constants.half + i];
    if (even < 0.5) return x[base + d] * c - x[base + d + 1] * s;
    return x[base + d] * c + x[base + d - 1] * s;
  }
  if (d < this.constants.half) {
    const c = cos[t * this.constants.half + d];
    const s = sin[t * this.constants.half + d];
    return x[base + d] * c - x[base + d + this.constants.half] * s;
  }
  const j = d - this.constants.half;
  return x[base + d] * cos[t * this.constants.half + j] + x[base + j] * sin[t * this.constants.half + j];
}

/** `applyRope` on GL. */
export function ropeGl(x: Tensor, tables: RopeTables, p: RopePlan): Tensor {
  return runResidentOrHost(
    {
      name: 'rope',
      fn: ropeKernel,
      output: [p.T * p.H * p.D],
      constants: { H: p.H, D: p.D, half: p.D / 2, interleaved: p.interleaved ? 1 : 0 },
    },
    x.shape,
    x,
    tables.cos,
    tables.sin,
  );
}
