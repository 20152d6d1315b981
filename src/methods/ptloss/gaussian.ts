/**
 * The synthetic Gaussian mixture of section 4.6.1: C classes with a uniform prior,
 * x | y = k ~ N(μ_k, σ² I), μ_k with entries drawn from {−1, 0, 1}. Because the mixture is known,
 * the Bayes posterior p*(y | x) ∝ exp(−‖x − μ_k‖² / (2σ²)) is exact.
 */
import { ShapeError, ValueError } from '../../errors';
import type { Matrix64 } from './matrix';
import { Rng } from './rng';

export interface GaussianSpec {
  classes: number;
  dim: number;
  sigma: number;
  /** Total number of points before the split. */
  points: number;
  /** Fractions for train / validation / test (thesis: 0.9 / 0.05 / 0.05). */
  split: readonly [number, number, number];
}

export const THESIS_GAUSSIAN: GaussianSpec = {
  classes: 3,
  dim: 30,
  sigma: 2,
  points: 10000,
  split: [0.9, 0.05, 0.05],
};

export interface GaussianSplit {
  x: Matrix64;
  y: Int32Array;
  /** Exact posterior p*(x), [n, C]. */
  pStar: Matrix64;
}

export interface GaussianData {
  spec: GaussianSpec;
  /** Class means, [C, dim]. */
  means: Matrix64;
  train: GaussianSplit;
  val: GaussianSplit;
  test: GaussianSplit;
}

/** Exact posterior of the mixture at the rows of x. */
export function bayesPosterior(x: Matrix64, means: Matrix64, sigma: number): Matrix64 {
  const [n, d] = x.shape;
  const [c, dm] = means.shape;
  if (d !== dm) throw new ShapeError(`bayesPosterior: x has ${d} features but the means have ${dm}`);
  const out = new Float64Array(n * c);
  const logit = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    let mx = -Infinity;
    for (let k = 0; k < c; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const diff = x.data[i * d + j] - means.data[k * d + j];
        s += diff * diff;
      }
      logit[k] = -s / (2 * sigma * sigma);
      mx = Math.max(mx, logit[k]);
    }
    let z = 0;
    for (let k = 0; k < c; k++) z += Math.exp(logit[k] - mx);
    for (let k = 0; k < c; k++) out[i * c + k] = Math.exp(logit[k] - mx) / z;
  }
  return { data: out, shape: [n, c] };
}

/** Sample the dataset of section 4.6.1 from a seed and split it. */
export function makeGaussianData(seed: number, spec: GaussianSpec = THESIS_GAUSSIAN): GaussianData {
  const { classes: c, dim: d, sigma, points: n, split } = spec;
  if (!(sigma > 0) || !Number.isInteger(n) || n < 3 || c < 2 || d < 1) {
    throw new ValueError(`makeGaussianData: invalid spec ${JSON.stringify(spec)}`);
  }
  if (Math.abs(split[0] + split[1] + split[2] - 1) > 1e-9 || split.some((f) => f <= 0)) {
    throw new ValueError(`makeGaussianData: split ${split.join('/')} must be positive and sum to 1`);
  }
  const rng = new Rng(seed);
  const means = new Float64Array(c * d);
  for (let i = 0; i < c * d; i++) means[i] = rng.int(3) - 1;
  const x = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = rng.int(c);
    y[i] = k;
    for (let j = 0; j < d; j++) x[i * d + j] = means[k * d + j] + sigma * rng.normal();
  }
  const meansM: Matrix64 = { data: means, shape: [c, d] };
  const nTrain = Math.round(split[0] * n);
  const nVal = Math.round(split[1] * n);
  const part = (lo: number, hi: number): GaussianSplit => {
    const xs: Matrix64 = { data: x.slice(lo * d, hi * d), shape: [hi - lo, d] };
    return { x: xs, y: y.slice(lo, hi), pStar: bayesPosterior(xs, meansM, sigma) };
  };
  return {
    spec,
    means: meansM,
    train: part(0, nTrain),
    val: part(nTrain, nTrain + nVal),
    test: part(nTrain + nVal, n),
  };
}

/** Mean over rows of ‖p − q‖₂ (the teacher-to-p* distance of Theorem 1 and Fig. 4.3). */
export function meanL2Distance(p: Matrix64, q: Matrix64): number {
  const [n, c] = p.shape;
  if (q.shape[0] !== n || q.shape[1] !== c) throw new ShapeError('meanL2Distance: shapes differ');
  let s = 0;
  for (let i = 0; i < n; i++) {
    let d2 = 0;
    for (let j = 0; j < c; j++) d2 += (p.data[i * c + j] - q.data[i * c + j]) ** 2;
    s += Math.sqrt(d2);
  }
  return n === 0 ? NaN : s / n;
}
