/** Plain-TS cosine matrix: normalise the rows (float64 norms), then one register-blocked A·Bᵀ. */
import type { CosinePlan } from '../cosine';
import { Tensor } from '../tensor';
import { gemmNT } from './matmul';

/** Rows of x scaled to unit L2 norm. */
export function normaliseRows(x: Float32Array, rows: number, d: number): Float32Array {
  const out = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let s = 0;
    for (let k = 0; k < d; k++) s += x[o + k] * x[o + k];
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < d; k++) out[o + k] = x[o + k] * inv;
  }
  return out;
}

/** `cosine` kernel of the js backend. */
export function cosineJs(a: Tensor, b: Tensor, p: CosinePlan): Tensor {
  const an = normaliseRows(a.data, p.n, p.d);
  const bn = normaliseRows(b.data, p.m, p.d);
  const out = new Float32Array(p.n * p.m);
  gemmNT(an, 0, bn, 0, undefined, out, 0, p.n, p.d, p.m);
  return new Tensor(out, [p.n, p.m]);
}
