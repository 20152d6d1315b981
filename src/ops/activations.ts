/** SiLU and GELU activations (GELU both exact-erf, as BERT uses, and the tanh approximation). */
import { assertFinite } from './checks';
import { ShapeError } from './errors';
import { dispatch } from './registry';
import { Tensor } from './tensor';
import type { Activation } from './plans';
export type { Activation } from './plans';

/** Apply an activation elementwise on the selected backend. */
export function activation(kind: Activation, x: Tensor): Tensor {
  assertFinite(x, kind, 'x');
  if (x.size === 0) return Tensor.zeros(x.shape);
  return dispatch('activation', kind, x);
}

/** SwiGLU gate silu(g) ⊙ u (LLaMA MLP), fused in one pass; g and u have the same shape. */
export function swiglu(g: Tensor, u: Tensor): Tensor {
  if (g.shape.join() !== u.shape.join()) {
    throw new ShapeError(`swiglu: gate [${g.shape.join(', ')}] and up [${u.shape.join(', ')}] differ`);
  }
  assertFinite(g, 'swiglu', 'gate');
  assertFinite(u, 'swiglu', 'up');
  if (g.size === 0) return Tensor.zeros(g.shape);
  return dispatch('swiglu', g, u);
}

/** Float64 reference kernel of `swiglu`. */
export function swigluRef(g: Tensor, u: Tensor): Tensor {
  const a = g.data;
  const b = u.data;
  const out = new Float32Array(g.size);
  for (let i = 0; i < out.length; i++) out[i] = (a[i] / (1 + Math.exp(-a[i]))) * b[i];
  return new Tensor(out, g.shape);
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

/** Plain-TS reference for `activation` (also its reference kernel). */
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
