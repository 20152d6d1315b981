/** gpu.js activations (SiLU, GELU erf/tanh) and the fused SwiGLU gate, flat outputs. */
import type { Activation } from '../activations';
import type { Tensor } from '../tensor';
import type { KernelThis } from './kernel-this';
import { runResidentOrHost } from './resident';

const CODES: Record<Activation, number> = { silu: 0, gelu: 1, gelu_tanh: 2 };

/**
 * gpu.js kernel. erf uses Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7, below float32 resolution at
 * the magnitudes GELU sees); exponentials are clamped so no branch overflows to Infinity.
 */
export function activationKernel(this: KernelThis<{ op: number }>, x: number[]): number {
  const v = x[this.thread.x];
  if (this.constants.op === 0) return v / (1 + Math.exp(-Math.max(v, -80)));
  if (this.constants.op === 1) {
    const z = Math.abs(v) * 0.7071067811865476;
    const t = 1 / (1 + 0.3275911 * z);
    const poly =
      t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    const erfAbs = 1 - poly * Math.exp(-z * z);
    const erf = v < 0 ? -erfAbs : erfAbs;
    return 0.5 * v * (1 + erf);
  }
  const u = 0.7978845608028654 * (v + 0.044715 * v * v * v);
  const e = Math.exp(-2 * Math.min(Math.abs(u), 40));
  const th = (1 - e) / (1 + e);
  return 0.5 * v * (1 + (u < 0 ? -th : th));
}

/** `activation` on GL. */
export function activationGl(kind: Activation, x: Tensor): Tensor {
  return runResidentOrHost(
    { name: 'activation', fn: activationKernel, output: [x.size], constants: { op: CODES[kind] } },
    x.shape,
    x,
  );
}

/** gpu.js kernel: silu(g)·u. */
export function swigluKernel(this: KernelThis<Record<string, number>>, g: number[], u: number[]): number {
  const v = g[this.thread.x];
  return (v / (1 + Math.exp(-Math.max(v, -80)))) * u[this.thread.x];
}

/** `swiglu` on GL. */
export function swigluGl(g: Tensor, u: Tensor): Tensor {
  return runResidentOrHost({ name: 'swiglu', fn: swigluKernel, output: [g.size] }, g.shape, g, u);
}
