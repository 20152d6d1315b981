/**
 * Plain-TS (float64) batched proxy-teacher solver: Newton steps on the stationarity equations,
 * Levenberg–Marquardt-damped so each accepted step lowers ℓ_PT-M, one example at a time, any number of classes and orders.
 * It is the reference twin of the gpu.js kernel in proxy-kernel.ts and follows the same steps.
 */
import { solveSmallExample, type SmallSolve } from './proxy-small';
import { evaluateStationarity, meritValue, stationarityBuffers } from './stationarity';

export interface SolverSettings {
  /** Iteration cap per example. */
  maxIterations: number;
  /** Converged when every |F_j| ≤ tolerance · (|w_j| + p_j |S|) (see `relativeResidual`). */
  tolerance: number;
  /** Largest change of any logit in one step (keeps early steps from overflowing exp). */
  maxStep: number;
}

export const DEFAULT_SOLVER: SolverSettings = { maxIterations: 60, tolerance: 1e-10, maxStep: 4 };

/** Raw per-example solver output (reduced logits, last logit 0). */
export interface RawSolve {
  /** [examples, C−1] reduced logits. */
  logits: Float64Array;
  /** Iterations (Jacobian evaluations with a step) per example. */
  iterations: Int32Array;
  /** 1 converged, 0 not (the kernel also uses 2: stalled near a solution at float32 resolution). */
  converged: Uint8Array;
  /** Float64 relative residual at the returned logits, where the solver computed it (NaN otherwise). */
  residual?: Float64Array;
}

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
  const small = classes <= 3 && order <= 5;
  return (small ? solveSmallBatch : solveProxyGeneral)(
    teacher,
    teacherLogits,
    eps,
    examples,
    classes,
    order,
    trials,
    settings,
  );
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

/** C ≤ 3, M ≤ 5: the kernel's closed-form iteration in float64 (proxy-small.ts). */
function solveSmallBatch(
  teacher: ArrayLike<number>,
  teacherLogits: ArrayLike<number>,
  eps: ArrayLike<number>,
  examples: number,
  classes: number,
  order: number,
  trials: number,
  settings: SolverSettings,
): RawSolve {
  const k = classes - 1;
  const three = classes === 3;
  const total = trials * examples;
  const logits = new Float64Array(total * k);
  const iterations = new Int32Array(total);
  const converged = new Uint8Array(total);
  const a = new Float64Array(trials * 15);
  for (let tr = 0; tr < trials; tr++) {
    for (let c = 0; c < classes; c++) {
      for (let m = 0; m < order; m++) a[tr * 15 + c * 5 + m] = eps[(tr * classes + c) * order + m];
    }
  }
  const residual = new Float64Array(total);
  const out: SmallSolve = { z0: 0, z1: 0, iterations: 0, converged: false, residual: NaN };
  for (let tr = 0; tr < trials; tr++) {
    for (let n = 0; n < examples; n++) {
      const o = n * classes;
      const last = teacherLogits[o + k];
      solveSmallExample(
        teacher[o],
        teacher[o + 1],
        three ? teacher[o + 2] : 0,
        a,
        tr * 15,
        teacherLogits[o] - last,
        three ? teacherLogits[o + 1] - last : 0,
        three,
        settings.maxIterations,
        settings.tolerance,
        settings.maxStep,
        out,
      );
      const idx = tr * examples + n;
      logits[idx * k] = out.z0;
      if (three) logits[idx * k + 1] = out.z1;
      iterations[idx] = out.iterations;
      converged[idx] = out.converged ? 1 : 0;
      residual[idx] = out.residual;
    }
  }
  return { logits, iterations, converged, residual };
}
