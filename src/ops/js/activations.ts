/** Plain-TS activations: SiLU, GELU (A&S 7.1.26 erf, as the GL kernel), GELU-tanh, and SwiGLU. */
import type { Activation } from '../activations';
import { Tensor } from '../tensor';

/** erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7: below float32 resolution for GELU). */
function erfAS(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * z);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const e = 1 - poly * Math.exp(-z * z);
  return x < 0 ? -e : e;
}

/** `activation` kernel of the js backend. */
export function activationJs(kind: Activation, x: Tensor): Tensor {
  const d = x.data;
  const out = new Float32Array(d.length);
  if (kind === 'silu') {
    for (let i = 0; i < d.length; i++) out[i] = d[i] / (1 + Math.exp(-d[i]));
  } else if (kind === 'gelu') {
    for (let i = 0; i < d.length; i++) out[i] = 0.5 * d[i] * (1 + erfAS(d[i] * Math.SQRT1_2));
  } else {
    const c = Math.sqrt(2 / Math.PI);
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      out[i] = 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v * v * v)));
    }
  }
  return new Tensor(out, x.shape);
}

/** `swiglu` kernel of the js backend: silu(g)·u in one pass. */
export function swigluJs(g: Tensor, u: Tensor): Tensor {
  const a = g.data;
  const b = u.data;
  const out = new Float32Array(a.length);
  for (let i = 0; i < out.length; i++) out[i] = (a[i] / (1 + Math.exp(-a[i]))) * b[i];
  return new Tensor(out, g.shape);
}
