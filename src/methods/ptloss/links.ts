/**
 * Links between PTLoss and other distillation losses (section 4.4.1, appendix E): the coefficient
 * choices the thesis derives, and the losses they are meant to reproduce, so that tests and the
 * notebook can check numerically where the correspondence holds and where it breaks.
 *
 * All three choices make ε depend on the example (on pᵗ, on pˢ, or on both logits), so they are
 * returned as per-example coefficients for `ptLoss`.
 */
import { ShapeError, ValueError } from '../../errors';
import type { PerExampleCoefficients } from './loss';
import { assertDistributions, dims, softmaxRows, type Matrix, type Matrix64 } from './matrix';

export interface LossAndGrad {
  perExample: Float64Array;
  /** ∂ℓ_n/∂z_n, [N, C]. */
  grad: Matrix64;
}

function checkOrder(order: number, fn: string): void {
  if (!Number.isInteger(order) || order < 1)
    throw new ValueError(`${fn}: order ${order} must be an integer ≥ 1`);
}

/** Eq. 4.10: ε_{c,m} = ((1 − pˢ_c)^γ − 1)/m, per example, for orders 1..M. */
export function focalCoefficients(
  studentProbs: Matrix,
  gamma: number,
  order: number,
): PerExampleCoefficients {
  const [n, c] = assertDistributions(studentProbs, 'focalCoefficients', 'studentProbs');
  checkOrder(order, 'focalCoefficients');
  if (!(gamma >= 0)) throw new ValueError(`focalCoefficients: gamma ${gamma} must be ≥ 0`);
  const values = new Float64Array(n * c * order);
  for (let i = 0; i < n * c; i++) {
    const f = Math.pow(1 - studentProbs.data[i], gamma) - 1;
    for (let m = 1; m <= order; m++) values[i * order + m - 1] = f / m;
  }
  return { classes: c, order, examples: n, values };
}

/**
 * Eq. 4.16 generalised to C classes (the thesis writes C = 2, smoothing to δ/2):
 * ε_{c,m} = Δpᵗ_c / (m pᵗ_c) with Δpᵗ_c = δ/C − δ pᵗ_c. Needs every pᵗ_c > 0.
 */
export function labelSmoothingCoefficients(
  teacher: Matrix,
  delta: number,
  order: number,
): PerExampleCoefficients {
  const [n, c] = assertDistributions(teacher, 'labelSmoothingCoefficients', 'teacher');
  checkOrder(order, 'labelSmoothingCoefficients');
  if (!(delta >= 0 && delta <= 1))
    throw new ValueError(`labelSmoothingCoefficients: delta ${delta} must be in [0, 1]`);
  const values = new Float64Array(n * c * order);
  for (let i = 0; i < n * c; i++) {
    const t = teacher.data[i];
    if (!(t > 0)) {
      throw new ValueError(
        `labelSmoothingCoefficients: teacher[${Math.floor(i / c)}][${i % c}] = ${t}; Eq. 4.16 divides by pᵗ_c, which must be > 0`,
      );
    }
    const dp = delta / c - delta * t;
    for (let m = 1; m <= order; m++) values[i * order + m - 1] = dp / (m * t);
  }
  return { classes: c, order, examples: n, values };
}

/**
 * Eq. 4.13 (binary): ε_{c,m} = (a/m)(1 + ((1 − b)/(1 − pˢ_c))^m) − 1/m with
 * a = e^{zᵗ₁−zᵗ₀} / e^{(zᵗ₁−zᵗ₀)/τ} and b = e^{zˢ₁−zˢ₀} / e^{(zˢ₁−zˢ₀)/τ}.
 */
export function temperatureCoefficients(
  teacherLogits: Matrix,
  studentLogits: Matrix,
  tau: number,
  order: number,
): PerExampleCoefficients {
  const fn = 'temperatureCoefficients';
  const [n, c] = dims(teacherLogits, fn, 'teacherLogits');
  const [ns, cs] = dims(studentLogits, fn, 'studentLogits');
  if (c !== 2 || cs !== 2 || ns !== n) {
    throw new ShapeError(
      `${fn}: Eq. 4.13 is binary: need [N, 2] logits, got [${n}, ${c}] and [${ns}, ${cs}]`,
    );
  }
  checkOrder(order, fn);
  if (!(tau > 0)) throw new ValueError(`${fn}: tau ${tau} must be > 0`);
  const ps = softmaxRows(studentLogits);
  const values = new Float64Array(n * 2 * order);
  for (let i = 0; i < n; i++) {
    const dt = teacherLogits.data[i * 2 + 1] - teacherLogits.data[i * 2];
    const ds = studentLogits.data[i * 2 + 1] - studentLogits.data[i * 2];
    const a = Math.exp(dt * (1 - 1 / tau));
    const b = Math.exp(ds * (1 - 1 / tau));
    for (let cl = 0; cl < 2; cl++) {
      const r = (1 - b) / (1 - ps.data[i * 2 + cl]);
      for (let m = 1; m <= order; m++)
        values[(i * 2 + cl) * order + m - 1] = (a / m) * (1 + Math.pow(r, m)) - 1 / m;
    }
  }
  return { classes: 2, order, examples: n, values };
}

/** Σ_c pᵗ_c log pᵗ_c per row (= −H(pᵗ)). */
function negEntropy(t: ArrayLike<number>, i: number, c: number): number {
  let s = 0;
  for (let j = 0; j < c; j++) {
    const v = t[i * c + j];
    if (v > 0) s += v * Math.log(v);
  }
  return s;
}

/** Eq. 4.8: focal distillation loss −H(pᵗ) + Σ_c pᵗ_c (1 − pˢ_c)^γ (−log pˢ_c) and its logit gradient. */
export function focalKdLoss(teacher: Matrix, studentLogits: Matrix, gamma: number): LossAndGrad {
  const [n, c] = assertDistributions(teacher, 'focalKdLoss', 'teacher');
  const p = softmaxRows(studentLogits);
  if (p.shape[0] !== n || p.shape[1] !== c)
    throw new ShapeError('focalKdLoss: teacher and studentLogits shapes differ');
  const perExample = new Float64Array(n);
  const grad = new Float64Array(n * c);
  const u = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    let loss = negEntropy(teacher.data, i, c);
    let su = 0;
    for (let j = 0; j < c; j++) {
      const t = teacher.data[i * c + j];
      const pj = p.data[i * c + j];
      const lg = Math.log(pj);
      const q = 1 - pj;
      loss += t * Math.pow(q, gamma) * -lg;
      // d/dp [(1-p)^γ (−log p)] = γ (1-p)^{γ-1} log p − (1-p)^γ / p; times p for the softmax chain.
      const dq = gamma === 0 ? 0 : gamma * Math.pow(q, gamma - 1) * lg * pj;
      u[j] = t * (dq - Math.pow(q, gamma));
      su += u[j];
    }
    for (let j = 0; j < c; j++) grad[i * c + j] = u[j] - p.data[i * c + j] * su;
    perExample[i] = loss;
  }
  return { perExample, grad: { data: grad, shape: [n, c] } };
}

/** Smoothed teacher (Eq. 4.14, δ/C for C classes): (1 − δ) pᵗ + δ/C. */
export function smoothTeacher(teacher: Matrix, delta: number): Matrix64 {
  const [n, c] = assertDistributions(teacher, 'smoothTeacher', 'teacher');
  if (!(delta >= 0 && delta <= 1)) throw new ValueError(`smoothTeacher: delta ${delta} must be in [0, 1]`);
  const out = new Float64Array(n * c);
  for (let i = 0; i < n * c; i++) out[i] = (1 - delta) * teacher.data[i] + delta / c;
  return { data: out, shape: [n, c] };
}

/** Eq. 4.15 as written: −H(pᵗ_ls) + Σ_c pᵗ_ls,c (−log pˢ_c), i.e. KL(pᵗ_ls ‖ pˢ), with its gradient. */
export function labelSmoothingKdLoss(teacher: Matrix, studentLogits: Matrix, delta: number): LossAndGrad {
  return crossEntropyPlus(smoothTeacher(teacher, delta), softmaxRows(studentLogits));
}

/** −H(t) + Σ t_c (−log p_c) and gradient p − t (for rows of t summing to 1). */
function crossEntropyPlus(t: Matrix64, p: Matrix64): LossAndGrad {
  const [n, c] = t.shape;
  const perExample = new Float64Array(n);
  const grad = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    let loss = negEntropy(t.data, i, c);
    for (let j = 0; j < c; j++) {
      loss -= t.data[i * c + j] * Math.log(p.data[i * c + j]);
      grad[i * c + j] = p.data[i * c + j] - t.data[i * c + j];
    }
    perExample[i] = loss;
  }
  return { perExample, grad: { data: grad, shape: [n, c] } };
}

/** Softmax of logits / τ. */
export function temperatureSoftmax(logits: Matrix, tau: number): Matrix64 {
  const [n, c] = dims(logits, 'temperatureSoftmax', 'logits');
  if (!(tau > 0)) throw new ValueError(`temperatureSoftmax: tau ${tau} must be > 0`);
  const scaled = new Float64Array(n * c);
  for (let i = 0; i < n * c; i++) scaled[i] = logits.data[i] / tau;
  return softmaxRows({ data: scaled, shape: [n, c] });
}

/** Eq. 4.12: KL(pᵗ_τ ‖ pˢ_τ) per example (exact temperature-scaled distillation loss). */
export function temperatureKdLoss(teacherLogits: Matrix, studentLogits: Matrix, tau: number): Float64Array {
  return crossEntropyPlus(temperatureSoftmax(teacherLogits, tau), temperatureSoftmax(studentLogits, tau))
    .perExample;
}

/**
 * Eq. E.6, the thesis's approximation of Eq. 4.12 (binary): −H(pᵗ_τ) + Σ_c a pᵗ_c (−log(b pˢ_c)),
 * with the same a, b as `temperatureCoefficients` applied to both classes.
 */
export function temperatureApproxLoss(
  teacherLogits: Matrix,
  studentLogits: Matrix,
  tau: number,
): Float64Array {
  const [n, c] = dims(teacherLogits, 'temperatureApproxLoss', 'teacherLogits');
  if (c !== 2) throw new ShapeError(`temperatureApproxLoss: binary only, got ${c} classes`);
  const pt = softmaxRows(teacherLogits);
  const ps = softmaxRows(studentLogits);
  const ptTau = temperatureSoftmax(teacherLogits, tau);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = Math.exp((teacherLogits.data[i * 2 + 1] - teacherLogits.data[i * 2]) * (1 - 1 / tau));
    const b = Math.exp((studentLogits.data[i * 2 + 1] - studentLogits.data[i * 2]) * (1 - 1 / tau));
    let v = negEntropy(ptTau.data, i, 2);
    for (let j = 0; j < 2; j++) v += a * pt.data[i * 2 + j] * -Math.log(b * ps.data[i * 2 + j]);
    out[i] = v;
  }
  return out;
}

/**
 * Eq. E.4's factor check: exact p_{0,τ}/p_0 = (1 + e^{d})/(1 + e^{d/τ}) for d = z₁ − z₀ against the
 * approximation a = e^{d(1 − 1/τ)} the derivation uses for every class.
 */
export function temperatureFactor(d: number, tau: number): { exact: number; approx: number } {
  return { exact: (1 + Math.exp(d)) / (1 + Math.exp(d / tau)), approx: Math.exp(d * (1 - 1 / tau)) };
}
