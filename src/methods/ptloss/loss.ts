/**
 * The perturbed distillation loss ℓ_PT-M (Eq. 4.7) and its analytic gradient with respect to the
 * student's logits.
 *
 *   ℓ_PT-M(pᵗ, pˢ) = KL(pᵗ ‖ pˢ) + Σ_c pᵗ_c Σ_{m=1..M} ε_{c,m} (1 − pˢ_c)^m,   pˢ = softmax(z).
 *
 * Gradient (derived here, checked against finite differences in the tests): with
 * h_c(p) = Σ_m m ε_{c,m} (1 − p)^{m−1} and w_c = −pᵗ_c (1 + pˢ_c h_c(pˢ_c)),
 *   ∂ℓ/∂z_j = w_j − pˢ_j Σ_c w_c,
 * which is pˢ − pᵗ when ε = 0.
 */
import type { Coefficients } from './coefficients';
import { NonFiniteError, ShapeError } from '../../errors';
import { assertDistributions, dims, type Matrix, type Matrix64 } from './matrix';

/** Coefficients shared by all examples, or one set per example (`values` of length N·C·M). */
export interface PerExampleCoefficients {
  readonly classes: number;
  readonly order: number;
  readonly examples: number;
  readonly values: Float64Array;
}

export type CoefficientInput = Coefficients | PerExampleCoefficients;

export interface PtLossResult {
  /** ℓ_PT-M per example, length N. */
  perExample: Float64Array;
  /** Mean over the batch. */
  mean: number;
  /** ∂ℓ_n/∂z_n for each example (not divided by N), [N, C]. */
  grad: Matrix64;
}

/** Offset of example n's coefficient block, checking shapes once. */
function coefficientStride(eps: CoefficientInput, n: number, c: number, fn: string): number {
  if (eps.classes !== c) {
    throw new ShapeError(`${fn}: coefficients are for ${eps.classes} classes but the batch has ${c}`);
  }
  if ('examples' in eps) {
    if (eps.examples !== n) {
      throw new ShapeError(`${fn}: per-example coefficients cover ${eps.examples} examples, batch has ${n}`);
    }
    if (eps.values.length !== n * c * eps.order) {
      throw new ShapeError(
        `${fn}: per-example coefficients need ${n * c * eps.order} values, got ${eps.values.length}`,
      );
    }
    return c * eps.order;
  }
  if (eps.values.length !== c * eps.order) {
    throw new ShapeError(`${fn}: coefficients need ${c * eps.order} values, got ${eps.values.length}`);
  }
  return 0;
}

/**
 * ℓ_PT-M for a batch (Eq. 4.7) with its gradient wrt the student logits.
 * `teacher`: [N, C] probabilities; `studentLogits`: [N, C]; `eps`: ε_{c,m} shared or per example.
 */
export function ptLoss(teacher: Matrix, studentLogits: Matrix, eps: CoefficientInput): PtLossResult {
  const fn = 'ptLoss';
  const [n, c] = assertDistributions(teacher, fn, 'teacher');
  const [ns, cs] = dims(studentLogits, fn, 'studentLogits');
  if (ns !== n || cs !== c) {
    throw new ShapeError(`${fn}: teacher is [${n}, ${c}] but studentLogits is [${ns}, ${cs}]`);
  }
  const stride = coefficientStride(eps, n, c, fn);
  const M = eps.order;
  const perExample = new Float64Array(n);
  const grad = new Float64Array(n * c);
  const logp = new Float64Array(c);
  const p = new Float64Array(c);
  const w = new Float64Array(c);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const row = i * c;
    let mx = -Infinity;
    for (let j = 0; j < c; j++) {
      const z = studentLogits.data[row + j];
      if (!Number.isFinite(z))
        throw new NonFiniteError(`${fn}: studentLogits[${i}][${j}] = ${z} is not finite`);
      mx = Math.max(mx, z);
    }
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(studentLogits.data[row + j] - mx);
    const lse = mx + Math.log(s);
    for (let j = 0; j < c; j++) {
      logp[j] = studentLogits.data[row + j] - lse;
      p[j] = Math.exp(logp[j]);
    }
    const base = i * stride;
    let loss = 0;
    let wsum = 0;
    for (let j = 0; j < c; j++) {
      const t = teacher.data[row + j];
      if (t > 0) loss += t * (Math.log(t) - logp[j]);
      // Perturbation value Σ_m ε (1-p)^m and slope h(p) = Σ_m m ε (1-p)^{m-1}.
      const q = 1 - p[j];
      let pert = 0;
      let h = 0;
      let qm1 = 1; // (1-p)^{m-1}
      for (let m = 1; m <= M; m++) {
        const e = eps.values[base + j * M + (m - 1)];
        h += m * e * qm1;
        qm1 *= q;
        pert += e * qm1;
      }
      loss += t * pert;
      w[j] = -t * (1 + p[j] * h);
      wsum += w[j];
    }
    for (let j = 0; j < c; j++) grad[row + j] = w[j] - p[j] * wsum;
    perExample[i] = loss;
    total += loss;
  }
  return { perExample, mean: n === 0 ? 0 : total / n, grad: { data: grad, shape: [n, c] } };
}

/** Plain KL(pᵗ ‖ softmax(z)) per example with gradient softmax(z) − pᵗ (Eq. 4.3's summand). */
export function klLoss(teacher: Matrix, studentLogits: Matrix): PtLossResult {
  const [, c] = dims(teacher, 'klLoss', 'teacher');
  return ptLoss(teacher, studentLogits, { classes: c, order: 0, values: new Float64Array(0) });
}
