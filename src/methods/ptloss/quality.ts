/**
 * The quality score Q̂ of a proxy teacher on a labelled validation set (Eq. 4.20):
 *   Q̂ = ( (1/N_v) Σ_n ‖p_n − y_n‖₂ )² + (1/N_v) Σ_n (p_nᵀ log p_n)²,
 * with y_n the one-hot label (an unbiased stand-in for p*(x_n)); 0·log 0 is taken as 0.
 */
import { ShapeError, ValueError } from '../../errors';
import { dims, type Matrix } from './matrix';

export interface QualityScore {
  /** Q̂ itself. */
  quality: number;
  /** The first term, (mean L2 distance to the labels)². */
  distanceTerm: number;
  /** The second term, mean squared negative entropy. */
  entropyTerm: number;
  /** Rows that entered the score. */
  count: number;
}

/** Check labels are integers in [0, C) and match the row count. */
export function checkLabels(labels: ArrayLike<number>, rows: number, classes: number, fn: string): void {
  if (labels.length !== rows) throw new ShapeError(`${fn}: ${labels.length} labels for ${rows} examples`);
  for (let i = 0; i < rows; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new ValueError(`${fn}: label ${i} = ${y} is not a class index in [0, ${classes})`);
    }
  }
}

/**
 * Q̂ (Eq. 4.20) of probabilities `p` ([N, C], starting at row `rowOffset` when `p` holds several
 * trials) against integer labels; `include[n]` = 0 leaves example n out (e.g. unsolved examples).
 */
export function qualityScore(
  p: Matrix,
  labels: ArrayLike<number>,
  include?: ArrayLike<number>,
  rowOffset = 0,
): QualityScore {
  const [rows, c] = dims(p, 'qualityScore', 'p');
  const n = labels.length;
  if (rowOffset < 0 || rowOffset + n > rows) {
    throw new ValueError(
      `qualityScore: rows ${rowOffset}..${rowOffset + n - 1} exceed the ${rows} rows of p`,
    );
  }
  checkLabels(labels, n, c, 'qualityScore');
  if (include && include.length !== n)
    throw new ShapeError(`qualityScore: include has ${include.length} entries for ${n} labels`);
  let dist = 0;
  let ent = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (include && !include[i]) continue;
    const base = (rowOffset + i) * c;
    const y = labels[i];
    let d2 = 0;
    let plogp = 0;
    for (let j = 0; j < c; j++) {
      const v = p.data[base + j];
      const diff = v - (j === y ? 1 : 0);
      d2 += diff * diff;
      if (v > 0) plogp += v * Math.log(v);
    }
    dist += Math.sqrt(d2);
    ent += plogp * plogp;
    count++;
  }
  if (count === 0) return { quality: NaN, distanceTerm: NaN, entropyTerm: NaN, count };
  const distanceTerm = (dist / count) ** 2;
  const entropyTerm = ent / count;
  return { quality: distanceTerm + entropyTerm, distanceTerm, entropyTerm, count };
}
