/** SiLU and GELU activations (GELU both exact-erf, as BERT uses, and the tanh approximation). */
import { runKernel } from './backend';
import { assertFinite } from './checks';
import type { KernelThis } from './kernel-this';
import { Tensor } from './tensor';

export type Activation = 'silu' | 'gelu' | 'gelu_tanh';
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

/** Apply an activation elementwise on the current backend. */
export function activation(kind: Activation, x: Tensor): Tensor {
  assertFinite(x, kind, 'x');
  if (x.size === 0) return Tensor.zeros(x.shape);
  return new Tensor(
    runKernel(
      { name: 'activation', fn: activationKernel, output: [x.size], constants: { op: CODES[kind] } },
      x.data,
    ),
    x.shape,
  );
}

/** SiLU(x) = x·σ(x) (LLaMA SwiGLU). */
export const silu = (x: Tensor): Tensor => activation('silu', x);
/** GELU(x) = x·Φ(x) with the exact erf (BERT). */
export const gelu = (x: Tensor): Tensor => activation('gelu', x);
/** GELU with the tanh approximation (GPT-2). */
export const geluTanh = (x: Tensor): Tensor => activation('gelu_tanh', x);

/** erf by a convergent series / continued fraction in float64 (reference only, independent of A&S). */
export function erfReference(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    // Maclaurin series: erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n!(2n+1)).
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 100; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    const r = (2 / Math.sqrt(Math.PI)) * sum;
    return x < 0 ? -r : r;
  }
  // Continued fraction for erfc at large |x|.
  let f = 0;
  for (let k = 60; k >= 1; k--) f = k / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return x < 0 ? erfc - 1 : 1 - erfc;
}

/** Plain-TS reference for `activation`. */
export function activationReference(kind: Activation, x: Tensor): Tensor {
  const f =
    kind === 'silu'
      ? (v: number) => v / (1 + Math.exp(-v))
      : kind === 'gelu'
        ? (v: number) => 0.5 * v * (1 + erfReference(v / Math.SQRT2))
        : (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  return new Tensor(
    x.data.map((v) => f(v)),
    x.shape,
  );
}
