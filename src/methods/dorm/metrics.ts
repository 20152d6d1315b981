/** Summary statistics for DORM's reports: AUROC, Spearman's ρ, per-source shares, mean ± sd. */
import { ShapeError, ValueError } from '../../errors';

/** Average ranks (1-based, ties share their mean rank). */
export function ranks(x: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const r = new Float64Array(x.length);
  for (let s = 0; s < idx.length;) {
    let e = s;
    while (e + 1 < idx.length && x[idx[e + 1]] === x[idx[s]]) e++;
    for (let k = s; k <= e; k++) r[idx[k]] = (s + e) / 2 + 1;
    s = e + 1;
  }
  return r;
}

/**
 * AUROC of `score` for telling positives (`positive[i]` true) from negatives: the probability that a random
 * positive scores higher than a random negative (ties count half), by the rank-sum (Mann–Whitney) formula.
 */
export function auroc(score: ArrayLike<number>, positive: ArrayLike<number | boolean>): number {
  if (score.length !== positive.length)
    throw new ShapeError(`auroc: ${score.length} scores, ${positive.length} labels`);
  const r = ranks(score);
  let nPos = 0;
  let sum = 0;
  for (let i = 0; i < r.length; i++) {
    if (positive[i]) {
      nPos++;
      sum += r[i];
    }
  }
  const nNeg = r.length - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (sum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Spearman's rank correlation (Pearson on average ranks). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length || x.length < 2)
    throw new ShapeError(`spearman: lengths ${x.length} and ${y.length}`);
  const rx = ranks(x);
  const ry = ranks(y);
  const n = rx.length;
  const mx = (n + 1) / 2;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (rx[i] - mx) * (ry[i] - mx);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - mx) ** 2;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

/** Share of the total weight held by each source (sums to 1). */
export function sourceShares(
  weights: ArrayLike<number>,
  source: ArrayLike<number>,
  sources: number,
): number[] {
  if (weights.length !== source.length)
    throw new ShapeError(`sourceShares: ${weights.length} weights, ${source.length} sources`);
  const s = new Array<number>(sources).fill(0);
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    const k = source[i];
    if (!(k >= 0 && k < sources))
      throw new ValueError(`sourceShares: row ${i} has source ${k}, not in 0..${sources - 1}`);
    s[k] += weights[i];
    total += weights[i];
  }
  if (!(total > 0)) throw new ValueError(`sourceShares: total weight is ${total}`);
  return s.map((v) => v / total);
}

/** Mean of `x` where `mask[i]` equals `value`. */
export function meanWhere(x: ArrayLike<number>, mask: ArrayLike<number>, value: number): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    if (mask[i] === value) {
      s += x[i];
      n++;
    }
  }
  return n ? s / n : NaN;
}

/** Mean and sample standard deviation. */
export function meanSd(x: readonly number[]): { mean: number; sd: number } {
  const n = x.length;
  if (n === 0) return { mean: NaN, sd: NaN };
  const mean = x.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd };
}
