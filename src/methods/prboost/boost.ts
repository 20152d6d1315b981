/**
 * Boosting weights on the clean labelled set D_l (thesis Eqs. 2.1-2.3): instance weights start at 1/|D_l|,
 * a model's weighted error gives its coefficient α_t = ln((1 − err)/err) + ln(K − 1) (SAMME), and the
 * weights of misclassified instances grow by e^{α_t}. The largest-weight instances are where new rules
 * are proposed.
 */
import { ShapeError, ValueError } from '../../errors';

/** Errors are clamped to [ERR_FLOOR, 1 − ERR_FLOOR] so a perfect (or useless) model keeps a finite α_t. */
export const ERR_FLOOR = 1e-6;

/** w_i = 1/|D_l| (the start of Eq. 2.1). */
export function initialWeights(n: number): Float64Array {
  if (!(Number.isInteger(n) && n > 0))
    throw new ValueError(`initialWeights: need a positive row count, got ${n}`);
  return new Float64Array(n).fill(1 / n);
}

function checkLengths(weights: ArrayLike<number>, other: ArrayLike<unknown>, what: string, fn: string): void {
  if (weights.length !== other.length)
    throw new ShapeError(`${fn}: ${weights.length} weights but ${other.length} ${what}`);
}

/** err_t = Σ w_i I(y_i ≠ m_t(x_i)) / Σ w_i (Eq. 2.3). */
export function weightedError(weights: ArrayLike<number>, wrong: ArrayLike<boolean>): number {
  checkLengths(weights, wrong, 'mistake flags', 'weightedError');
  let num = 0;
  let den = 0;
  for (let i = 0; i < weights.length; i++) {
    if (!(weights[i] >= 0)) throw new ValueError(`weightedError: weight ${i} is ${weights[i]}, not ≥ 0`);
    den += weights[i];
    if (wrong[i]) num += weights[i];
  }
  if (!(den > 0)) throw new ValueError('weightedError: the weights sum to 0');
  return num / den;
}

/** α_t = ln((1 − err_t)/err_t) + ln(K − 1) (Eq. 2.2), err clamped to [ERR_FLOOR, 1 − ERR_FLOOR]. */
export function modelCoefficient(err: number, classes: number): number {
  if (!(err >= 0 && err <= 1)) throw new ValueError(`modelCoefficient: error ${err} is not in [0, 1]`);
  if (!(Number.isInteger(classes) && classes >= 2))
    throw new ValueError(`modelCoefficient: need K ≥ 2 classes, got ${classes}`);
  const e = Math.min(1 - ERR_FLOOR, Math.max(ERR_FLOOR, err));
  return Math.log((1 - e) / e) + Math.log(classes - 1);
}

/**
 * w_i ← w_i · exp(α_t · I(y_i ≠ m_t(x_i))) (Eq. 2.1). With `normalise` (default) the result sums to 1,
 * which leaves the ratios, and so err_t and the top-n choice, unchanged.
 */
export function updateWeights(
  weights: ArrayLike<number>,
  wrong: ArrayLike<boolean>,
  alpha: number,
  normalise = true,
): Float64Array {
  checkLengths(weights, wrong, 'mistake flags', 'updateWeights');
  if (!Number.isFinite(alpha)) throw new ValueError(`updateWeights: α = ${alpha} is not finite`);
  const out = new Float64Array(weights.length);
  const f = Math.exp(alpha);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    out[i] = wrong[i] ? weights[i] * f : weights[i];
    sum += out[i];
  }
  if (normalise) for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/** Indices of the n largest weights, largest first; equal weights in index order (the top-n of §2.4.1). */
export function topWeighted(weights: ArrayLike<number>, n: number): number[] {
  if (!(Number.isInteger(n) && n >= 0)) throw new ValueError(`topWeighted: n must be a count, got ${n}`);
  return Array.from({ length: weights.length }, (_, i) => i)
    .sort((a, b) => weights[b] - weights[a] || a - b)
    .slice(0, n);
}

/** One boosting round's outcome. */
export interface BoostStep {
  err: number;
  alpha: number;
  weights: Float64Array;
  wrong: boolean[];
}

/** Eqs. 2.3 → 2.2 → 2.1 for one set of predictions on D_l. */
export function boostStep(
  weights: ArrayLike<number>,
  predicted: ArrayLike<number>,
  gold: ArrayLike<number>,
  classes: number,
): BoostStep {
  checkLengths(weights, predicted, 'predictions', 'boostStep');
  checkLengths(weights, gold, 'gold labels', 'boostStep');
  const wrong = Array.from({ length: weights.length }, (_, i) => predicted[i] !== gold[i]);
  const err = weightedError(weights, wrong);
  const alpha = modelCoefficient(err, classes);
  return { err, alpha, weights: updateWeights(weights, wrong, alpha), wrong };
}
