/**
 * The PTLoss proxy-teacher solve as an op (Eqs. 4.17-4.19, chapter 4): for each (coefficient set,
 * example) pair, the student logits at which ℓ_PT-M with teacher pᵗ and coefficients ε is stationary,
 * by damped Newton (Levenberg–Marquardt) steps on the closed-form 2×2 system, for C ≤ 3 classes and
 * orders M ≤ 5. Kernels: gl (float32, one thread per output slot; the caller polishes in float64) and
 * js (float64, one example at a time; also the reference). Larger problems use PTLoss's general
 * Cholesky solver (src/methods/ptloss/proxy-reference.ts).
 */
import { ShapeError, ValueError } from './errors';
import { dispatch } from './registry';
import type { RawSolve, ProxyProblem, SolverSettings } from './plans';
export type { RawSolve, ProxyProblem, SolverSettings } from './plans';

/** Largest class count and order of the fused solve. */
export const PROXY_MAX_CLASSES = 3;
export const PROXY_MAX_ORDER = 5;

export const DEFAULT_SOLVER: SolverSettings = { maxIterations: 60, tolerance: 1e-10, maxStep: 4 };

/**
 * Solve the proxy teacher of every (trial, example) pair on the selected backend (Eq. 4.19).
 * `teacher`, `teacherLogits`: [N, C] flat; `eps`: [T, C, M] flat.
 */
export function proxySolve(problem: ProxyProblem): RawSolve {
  const { examples: n, classes: c, order: m, trials: t, settings } = problem;
  if (!(c >= 2 && c <= PROXY_MAX_CLASSES) || !(m >= 1 && m <= PROXY_MAX_ORDER)) {
    throw new ShapeError(
      `proxySolve: the fused solve handles 2..${PROXY_MAX_CLASSES} classes and orders 1..${PROXY_MAX_ORDER}, got C = ${c}, M = ${m}`,
    );
  }
  for (const [name, arr, len] of [
    ['teacher', problem.teacher, n * c],
    ['teacherLogits', problem.teacherLogits, n * c],
    ['eps', problem.eps, t * c * m],
  ] as const) {
    if (arr.length !== len)
      throw new ShapeError(`proxySolve: ${name} has ${arr.length} values, expected ${len}`);
  }
  if (!(settings.maxIterations >= 1) || !(settings.tolerance > 0) || !(settings.maxStep > 0)) {
    throw new ValueError(`proxySolve: invalid solver settings ${JSON.stringify(settings)}`);
  }
  if (n * t === 0) {
    return { logits: new Float64Array(0), iterations: new Int32Array(0), converged: new Uint8Array(0) };
  }
  return dispatch('proxySolve', problem);
}

/** Teacher and logits padded to 3 per example, coefficients to [T, 3, 5] (the kernel's fixed layout). */
export function padProblem(p: ProxyProblem): {
  teacher: Float64Array;
  logits: Float64Array;
  eps: Float64Array;
} {
  const teacher = new Float64Array(p.examples * 3);
  const logits = new Float64Array(p.examples * 3);
  for (let n = 0; n < p.examples; n++) {
    for (let c = 0; c < p.classes; c++) {
      teacher[n * 3 + c] = p.teacher[n * p.classes + c];
      logits[n * 3 + c] = p.teacherLogits[n * p.classes + c];
    }
  }
  return { teacher, logits, eps: padCoefficients(p) };
}

/** Unpack the kernel's [z0, z1, status, residual] per (trial, example) into a RawSolve. */
export function decodeSolve(out: ArrayLike<number>, p: ProxyProblem, withResidual: boolean): RawSolve {
  const k = p.classes - 1;
  const total = p.trials * p.examples;
  const logits = new Float64Array(total * k);
  const iterations = new Int32Array(total);
  const converged = new Uint8Array(total);
  const residual = new Float64Array(total);
  for (let i = 0; i < total; i++) {
    logits[i * k] = out[i * 4];
    if (k > 1) logits[i * k + 1] = out[i * 4 + 1];
    const status = out[i * 4 + 2];
    const stalledNear = status < 0 && Math.abs(-status - Math.floor(-status) - 0.5) < 0.01;
    converged[i] = status >= 0 ? 1 : stalledNear ? 2 : 0;
    iterations[i] = status >= 0 ? status : Math.floor(-status - 0.5);
    residual[i] = out[i * 4 + 3];
  }
  return withResidual ? { logits, iterations, converged, residual } : { logits, iterations, converged };
}

/** Coefficients [T, C, M] zero-padded to [T, 3, 5] (the fused solve's fixed layout). */
export function padCoefficients(p: ProxyProblem): Float64Array {
  const a = new Float64Array(p.trials * 15);
  for (let tr = 0; tr < p.trials; tr++)
    for (let c = 0; c < p.classes; c++)
      for (let m = 0; m < p.order; m++) a[tr * 15 + c * 5 + m] = p.eps[(tr * p.classes + c) * p.order + m];
  return a;
}
