/**
 * The projection λ of Eq. 3.1's multi-attribute head: r = λᵀ out(x). App. I.3 searches λ on the validation
 * set with Bayesian optimisation; here λ maximises the Bradley–Terry likelihood of the validation pairs
 * given the head's attribute outputs (a smooth stand-in for validation accuracy, solved by gradient ascent).
 */
import { ShapeError, ValueError } from '../../errors';
import { headOutputs, sigmoid, type RewardHead } from './head';
import type { PairSet } from './task';

export interface ProjectionOptions {
  iterations?: number;
  lr?: number;
  /** L2 penalty on λ (default 1e-3) so separable validation sets keep a finite λ. */
  l2?: number;
}

/** λ fitted on `validation` (returned; the head is not changed). */
export function fitProjection(
  head: RewardHead,
  params: Float64Array,
  validation: PairSet,
  opts: ProjectionOptions = {},
): Float64Array {
  const m = head.config.outputs;
  if (validation.n === 0) throw new ValueError('fitProjection: no validation pairs');
  if (validation.dim !== head.config.dim)
    throw new ShapeError(`fitProjection: features have width ${validation.dim}, the head ${head.config.dim}`);
  const oa = headOutputs(head, params, validation.a);
  const ob = headOutputs(head, params, validation.b);
  const d = Float64Array.from(oa, (x, k) => x - ob[k]);
  const lam = new Float64Array(m).fill(1 / m);
  const iters = opts.iterations ?? 500;
  const lr = opts.lr ?? 0.5;
  const l2 = opts.l2 ?? 1e-3;
  const n = validation.n;
  for (let it = 0; it < iters; it++) {
    const g = new Float64Array(m);
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let o = 0; o < m; o++) z += lam[o] * d[i * m + o];
      const s = sigmoid(-z);
      for (let o = 0; o < m; o++) g[o] += (s * d[i * m + o]) / n;
    }
    for (let o = 0; o < m; o++) lam[o] += lr * (g[o] - l2 * lam[o]);
  }
  return lam;
}
