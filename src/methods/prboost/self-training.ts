/**
 * Self-training targets (thesis Eq. 2.9): from the model's class probabilities q on unmatched rows,
 * ỹ_ij = (q_ij² / f_j) / Σ_j' (q_ij'² / f_j'), f_j = Σ_i q_ij. Squaring sharpens each row; dividing by the
 * class frequency f_j keeps large classes from swallowing the rest.
 */
import { NonFiniteError, ShapeError } from '../../errors';

/** Soft pseudo-labels ỹ [n, K] from probabilities q [n, K] (row-major), Eq. 2.9. */
export function sharpenTargets(q: ArrayLike<number>, rows: number, classes: number): Float64Array {
  if (q.length !== rows * classes)
    throw new ShapeError(`sharpenTargets: ${q.length} values for [${rows}, ${classes}]`);
  const f = new Float64Array(classes);
  for (let i = 0; i < rows; i++) for (let j = 0; j < classes; j++) f[j] += q[i * classes + j];
  const out = new Float64Array(rows * classes);
  for (let i = 0; i < rows; i++) {
    let z = 0;
    for (let j = 0; j < classes; j++) {
      const v = f[j] > 0 ? (q[i * classes + j] * q[i * classes + j]) / f[j] : 0;
      out[i * classes + j] = v;
      z += v;
    }
    if (!(z > 0)) throw new NonFiniteError(`sharpenTargets: row ${i} has no probability mass`);
    for (let j = 0; j < classes; j++) out[i * classes + j] /= z;
  }
  return out;
}

/** Mean row entropy (nats) of a row-major [n, K] distribution; lower = sharper. */
export function meanEntropy(p: ArrayLike<number>, rows: number, classes: number): number {
  let h = 0;
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < classes; j++) {
      const v = p[i * classes + j];
      if (v > 0) h -= v * Math.log(v);
    }
  return rows ? h / rows : 0;
}
