/**
 * Float64 proxy-teacher solvers (Eqs. 4.17-4.19): `solveProxyGeneral`, Newton steps on the stationarity
 * equations, Levenberg–Marquardt-damped (Cholesky) so each accepted step lowers ℓ_PT-M, for any number of
 * classes and orders; and `solveProxyReference`, which sends C ≤ 3, M ≤ 5 to the ops layer's float64
 * reference of the fused `proxySolve` and everything else to the general solver.
 */
import {
  DEFAULT_SOLVER,
  PROXY_MAX_CLASSES,
  PROXY_MAX_ORDER,
  proxySolve,
  withBackend,
  type RawSolve,
  type SolverSettings,
} from '../../ops';
import { evaluateStationarity, meritValue, stationarityBuffers } from './stationarity';

export { DEFAULT_SOLVER, type RawSolve, type SolverSettings };

/**
 * Solve every (trial, example) pair. `teacher`: [N, C] probabilities (all > 0); `teacherLogits`:
 * [N, C] initial logits (log pᵗ); `eps`: [T, C, M] coefficients. Output index: trial * N + example.
 */
export function solveProxyReference(
  teacher: ArrayLike<number>,
  teacherLogits: ArrayLike<number>,
  eps: ArrayLike<number>,
  examples: number,
  classes: number,
  order: number,
  trials: number,
  settings: SolverSettings = DEFAULT_SOLVER,
): RawSolve {
  if (classes <= PROXY_MAX_CLASSES && order <= PROXY_MAX_ORDER) {
    const problem = { teacher, teacherLogits, eps, examples, classes, order, trials, settings };
    return withBackend('reference', () => proxySolve(problem));
  }
  return solveProxyGeneral(teacher, teacherLogits, eps, examples, classes, order, trials, settings);
}

/** The general-C path of `solveProxyReference` (Cholesky-damped Newton), exported for tests. */
export function solveProxyGeneral(
  teacher: ArrayLike<number>,
  teacherLogits: ArrayLike<number>,
  eps: ArrayLike<number>,
  examples: number,
  classes: number,
  order: number,
  trials: number,
  settings: SolverSettings = DEFAULT_SOLVER,
): RawSolve {
  const k = classes - 1;
  const total = trials * examples;
  const logits = new Float64Array(total * k);
  const iterations = new Int32Array(total);
  const converged = new Uint8Array(total);
  const buf = stationarityBuffers(classes);
  const trialBuf = stationarityBuffers(classes);
  const z = new Float64Array(k);
  const zt = new Float64Array(k);
  const A = new Float64Array(k * k);
  const d = new Float64Array(k);
  for (let tr = 0; tr < trials; tr++) {
    const eOff = tr * classes * order;
    for (let n = 0; n < examples; n++) {
      const tOff = n * classes;
      for (let j = 0; j < k; j++) z[j] = teacherLogits[tOff + j] - teacherLogits[tOff + k];
      let lambda = 0;
      let it = 0;
      let ok = 0;
      for (let iter = 0; iter < settings.maxIterations; iter++) {
        const phi = evaluateStationarity(z, teacher, tOff, eps, eOff, classes, order, true, buf);
        if (buf.rel <= settings.tolerance) {
          ok = 1;
          break;
        }
        it++;
        // J is the Hessian of ℓ in the reduced logits: damped Newton (J + λI) d = −F, with λ raised
        // until J + λI is positive definite so that d descends ℓ.
        let jmax = 0;
        for (let j = 0; j < k; j++) jmax = Math.max(jmax, Math.abs(buf.J[j * k + j]));
        const lamFloor = 1e-3 * jmax + 1e-12;
        for (;;) {
          A.set(buf.J);
          for (let j = 0; j < k; j++) {
            A[j * k + j] += lambda;
            d[j] = -buf.F[j];
          }
          if (solveSpd(A, d, k)) break;
          lambda = Math.max(10 * lambda, lamFloor);
        }
        let dmax = 0;
        for (let j = 0; j < k; j++) dmax = Math.max(dmax, Math.abs(d[j]));
        const shrink = dmax > settings.maxStep ? settings.maxStep / dmax : 1;
        for (let j = 0; j < k; j++) zt[j] = z[j] + shrink * d[j];
        const f0 = meritValue(z, teacher, tOff, eps, eOff, classes, order);
        const f1 = meritValue(zt, teacher, tOff, eps, eOff, classes, order);
        const phiNew = evaluateStationarity(zt, teacher, tOff, eps, eOff, classes, order, false, trialBuf);
        if (f1 < f0 || (f1 <= f0 + MERIT_SLACK * (1 + Math.abs(f0)) && phiNew < phi)) {
          z.set(zt);
          lambda = lambda * 0.1 < 1e-12 * (jmax + 1e-12) ? 0 : lambda * 0.1;
        } else {
          lambda = Math.max(10 * lambda, lamFloor);
          if (lambda > 1e30) break;
        }
      }
      const idx = tr * examples + n;
      logits.set(z, idx * k);
      iterations[idx] = it;
      converged[idx] = ok;
    }
  }
  return { logits, iterations, converged };
}

/** Relative slack on the merit test: float64 rounding of ℓ near its minimum. */
const MERIT_SLACK = 1e-14;

/** Solve A x = b in place by Cholesky for a symmetric k×k A; false if A is not positive definite. */
export function solveSpd(A: Float64Array, b: Float64Array, k: number): boolean {
  for (let j = 0; j < k; j++) {
    let s = A[j * k + j];
    for (let l = 0; l < j; l++) s -= A[j * k + l] * A[j * k + l];
    if (!(s > 0)) return false;
    const r = Math.sqrt(s);
    A[j * k + j] = r;
    for (let i = j + 1; i < k; i++) {
      let t = A[i * k + j];
      for (let l = 0; l < j; l++) t -= A[i * k + l] * A[j * k + l];
      A[i * k + j] = t / r;
    }
  }
  for (let i = 0; i < k; i++) {
    let s = b[i];
    for (let l = 0; l < i; l++) s -= A[i * k + l] * b[l];
    b[i] = s / A[i * k + i];
  }
  for (let i = k - 1; i >= 0; i--) {
    let s = b[i];
    for (let l = i + 1; l < k; l++) s -= A[l * k + i] * b[l];
    b[i] = s / A[i * k + i];
  }
  for (let i = 0; i < k; i++) if (!Number.isFinite(b[i])) return false;
  return true;
}
