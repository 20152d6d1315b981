/**
 * A controlled preference task with a known true reward (seeded): each response is a Gaussian feature
 * vector x; its m attribute ratings are r_k(x) = v_kᵀx + ½·tanh(a_kᵀx) (+ rating noise), and its true
 * scalar reward is λ*ᵀr(x) (the projection of Eq. 3.1's multi-attribute head). The response with the
 * higher true reward is labelled chosen, so the clean labels are the truth and every flip is known.
 */
import { ValueError } from '../../errors';
import type { PreferenceTask } from './task';
import { Rng } from './rng';

export interface SyntheticOptions {
  /** Number of pairs (default 2,000). */
  pairs?: number;
  /** Feature width (default 16). */
  dim?: number;
  /** Rated attributes m (default 3). */
  attributes?: number;
  /** Standard deviation of the noise on each rating (default 0.1); labels use the noise-free reward. */
  ratingNoise?: number;
  seed?: number;
}

/** Eq. 3.1's setting in miniature: features, multi-attribute ratings and pair labels from a known reward. */
export function makeSyntheticTask(opts: SyntheticOptions = {}): PreferenceTask {
  const n = opts.pairs ?? 2000;
  const d = opts.dim ?? 16;
  const m = opts.attributes ?? 3;
  const noise = opts.ratingNoise ?? 0.1;
  if (!(Number.isInteger(n) && n > 0 && Number.isInteger(d) && d > 0 && Number.isInteger(m) && m > 0)) {
    throw new ValueError(
      `makeSyntheticTask: pairs (${n}), dim (${d}), attributes (${m}) must be positive integers`,
    );
  }
  const rng = new Rng(opts.seed ?? 0);
  const v = Float64Array.from({ length: m * d }, () => rng.normal() / Math.sqrt(d));
  const a = Float64Array.from({ length: m * d }, () => (2 * rng.normal()) / Math.sqrt(d));
  const lambda = Float64Array.from({ length: m }, () => 0.5 + rng.next());
  let ls = 0;
  lambda.forEach((x) => (ls += x));
  lambda.forEach((x, k) => (lambda[k] = x / ls));
  const respond = (): { x: Float32Array; r: Float32Array; truth: number } => {
    const x = Float32Array.from({ length: d }, () => rng.normal());
    const r = new Float32Array(m);
    let truth = 0;
    for (let k = 0; k < m; k++) {
      let lin = 0;
      let nl = 0;
      for (let j = 0; j < d; j++) {
        lin += v[k * d + j] * x[j];
        nl += a[k * d + j] * x[j];
      }
      const clean = lin + 0.5 * Math.tanh(nl);
      truth += lambda[k] * clean;
      r[k] = clean + noise * rng.normal();
    }
    return { x, r, truth };
  };
  const chosen = new Float32Array(n * d);
  const rejected = new Float32Array(n * d);
  const rc = new Float32Array(n * m);
  const rr = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    let p = respond();
    let q = respond();
    if (q.truth > p.truth) [p, q] = [q, p];
    chosen.set(p.x, i * d);
    rejected.set(q.x, i * d);
    rc.set(p.r, i * m);
    rr.set(q.r, i * m);
  }
  return {
    name: 'synthetic',
    dim: d,
    ids: Int32Array.from({ length: n }, (_, i) => i),
    chosen,
    rejected,
    attributes: m,
    ratingsChosen: rc,
    ratingsRejected: rr,
    trueProjection: lambda,
  };
}
