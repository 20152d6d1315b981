/**
 * gpu.js kernel for the batched proxy-teacher solve (Eqs. 4.17-4.19), for C ≤ 3 classes and
 * orders M ≤ 5. One thread per (slot, example, trial): every thread of an example runs the same
 * damped-Newton (Levenberg–Marquardt) iteration (same steps as proxy-reference.ts, in float32) entirely
 * inside the kernel, so a whole search is one launch with no per-iteration read-back; slot 0 and 1
 * return the reduced logits z_0, z_1 (last logit fixed at 0), slot 2 the iteration count k when it
 * converged, −k − 1 when it did not, and −k − 0.5 when it stalled at float32 resolution within
 * KERNEL_NEAR_TOLERANCE of a solution (the host's float64 polish then decides).
 */
import { runKernel } from '../../ops/gl/runtime';
import type { KernelThis } from '../../ops/gl/kernel-this';
import { PtlossError } from './errors';
import type { RawSolve, SolverSettings } from './proxy-reference';

/** Largest class count and order the kernel handles (the plain-TS solver has no limit). */
export const KERNEL_MAX_CLASSES = 3;
export const KERNEL_MAX_ORDER = 5;

/** A stalled example this close (relative residual) goes to the float64 polish instead of failing. */
export const KERNEL_NEAR_TOLERANCE = 1e-3;

/** Relative slack on the merit test: float32 rounding of ℓ near its minimum. */
const KERNEL_MERIT_SLACK = 3e-6;

interface ProxyConsts {
  C: number;
  M: number;
  maxIter: number;
  tol: number;
  maxStep: number;
  slack: number;
  nearTol: number;
}

/**
 * w_c = −t (1 + p h) with h = Σ m a_m q^{m−1} (Horner), a_m zero beyond the order. q = 1 − p is passed
 * in, computed as the sum of the other classes' probabilities: 1 − p itself loses all precision in
 * float32 when p is within ~1e-7 of 1.
 */
export function ptWeight(
  t: number,
  p: number,
  q: number,
  a1: number,
  a2: number,
  a3: number,
  a4: number,
  a5: number,
): number {
  const h = (((5 * a5 * q + 4 * a4) * q + 3 * a3) * q + 2 * a2) * q + a1;
  return -t * (1 + p * h);
}

/** t Σ_m a_m q^m with q = 1 − p, the perturbation part of ℓ_PT-M for one class (Horner). */
export function ptPert(
  t: number,
  q: number,
  a1: number,
  a2: number,
  a3: number,
  a4: number,
  a5: number,
): number {
  return t * ((((a5 * q + a4) * q + a3) * q + a2) * q + a1) * q;
}

/** dw_c/dp_c = −t (h − p dh/dq), q = 1 − p as for `ptWeight`. */
export function ptWeightSlope(
  t: number,
  p: number,
  q: number,
  a1: number,
  a2: number,
  a3: number,
  a4: number,
  a5: number,
): number {
  const h = (((5 * a5 * q + 4 * a4) * q + 3 * a3) * q + 2 * a2) * q + a1;
  const dh = ((20 * a5 * q + 12 * a4) * q + 6 * a3) * q + 2 * a2;
  return -t * (h - p * dh);
}

/** The kernel body. Inputs: teacher [N·3] probs, init [N·3] logits, eps [T·3·5] (zero-padded). */
export function proxyKernel(
  this: KernelThis<ProxyConsts>,
  teacher: number[],
  init: number[],
  eps: number[],
): number {
  const slot = this.thread.x;
  const tb = this.thread.y * 3;
  const eb = this.thread.z * 15;
  const t0 = teacher[tb];
  const t1 = teacher[tb + 1];
  const t2 = teacher[tb + 2];
  const a01 = eps[eb];
  const a02 = eps[eb + 1];
  const a03 = eps[eb + 2];
  const a04 = eps[eb + 3];
  const a05 = eps[eb + 4];
  const a11 = eps[eb + 5];
  const a12 = eps[eb + 6];
  const a13 = eps[eb + 7];
  const a14 = eps[eb + 8];
  const a15 = eps[eb + 9];
  const a21 = eps[eb + 10];
  const a22 = eps[eb + 11];
  const a23 = eps[eb + 12];
  const a24 = eps[eb + 13];
  const a25 = eps[eb + 14];
  // Class C−1 is the fixed one; with C = 2 the third class is absent (t2 = 0, z1 unused).
  let z0 = 0;
  let z1 = 0;
  let three = 0;
  if (this.constants.C > 2.5) {
    three = 1;
    z0 = init[tb] - init[tb + 2];
    z1 = init[tb + 1] - init[tb + 2];
  } else {
    z0 = init[tb] - init[tb + 1];
  }
  // State at the current point: probabilities, weights w_c and the merit ℓ (without Σ t log t).
  let mx = Math.max(z0, 0);
  if (three > 0.5) mx = Math.max(mx, z1);
  const e0 = Math.exp(z0 - mx);
  let e1 = Math.exp(-mx);
  let e2 = 0;
  if (three > 0.5) {
    e1 = Math.exp(z1 - mx);
    e2 = Math.exp(-mx);
  }
  const sum = e0 + e1 + e2;
  let p0 = e0 / sum;
  let p1 = e1 / sum;
  let p2 = e2 / sum;
  const lse = mx + Math.log(sum);
  let u0 = p1 + p2;
  let u1 = p0 + p2;
  let u2 = p0 + p1;
  let w0 = ptWeight(t0, p0, u0, a01, a02, a03, a04, a05);
  let w1 = ptWeight(t1, p1, u1, a11, a12, a13, a14, a15);
  let w2 = ptWeight(t2, p2, u2, a21, a22, a23, a24, a25);
  let f =
    ptPert(t0, u0, a01, a02, a03, a04, a05) -
    t0 * (z0 - lse) +
    ptPert(t1, u1, a11, a12, a13, a14, a15) -
    t1 * (z1 * three - lse) +
    ptPert(t2, u2, a21, a22, a23, a24, a25) +
    t2 * lse;
  let lambda = 0;
  let done = 0;
  let iters = 0;
  let relNow = 1e30;
  for (let it = 0; it < this.constants.maxIter; it++) {
    if (done < 0.5) {
      const S = w0 + w1 + w2;
      const F0 = w0 - p0 * S;
      let F1 = 0;
      if (three > 0.5) F1 = w1 - p1 * S;
      const aS = Math.abs(S);
      const sc0 = Math.abs(w0) + p0 * aS;
      const sc1 = Math.abs(w1) + p1 * aS;
      relNow = Math.max(Math.abs(F0) / Math.max(sc0, 1e-30), Math.abs(F1) / Math.max(sc1, 1e-30));
      if (Math.abs(F0) <= this.constants.tol * sc0 && Math.abs(F1) <= this.constants.tol * sc1) {
        done = 1;
      } else {
        iters = iters + 1;
        const phi = F0 * F0 + F1 * F1;
        const d0 = ptWeightSlope(t0, p0, u0, a01, a02, a03, a04, a05);
        const d1 = ptWeightSlope(t1, p1, u1, a11, a12, a13, a14, a15);
        const d2 = ptWeightSlope(t2, p2, u2, a21, a22, a23, a24, a25);
        const T = d0 * p0 + d1 * p1 + d2 * p2;
        const J00 = (d0 - S) * p0 * u0 - p0 * p0 * (d0 - T);
        let J01 = 0;
        let J11 = 1;
        if (three > 0.5) {
          J01 = -p0 * p1 * (d0 + d1 - S - T);
          J11 = (d1 - S) * p1 * u1 - p1 * p1 * (d1 - T);
        }
        // Damped Newton on ℓ: (J + λI) s = −F with λ raised until J + λI is positive definite.
        let jmax = Math.abs(J00);
        if (three > 0.5) jmax = Math.max(jmax, Math.abs(J11));
        const lamFloor = 1e-3 * jmax + 1e-12;
        const half = 0.5 * (J00 - J11);
        let eigMin = J00;
        if (three > 0.5) eigMin = 0.5 * (J00 + J11) - Math.sqrt(half * half + J01 * J01);
        let lamEff = lambda;
        if (eigMin + lamEff <= 1e-6 * jmax + 1e-30)
          lamEff = Math.max(lamFloor, 2 * Math.abs(eigMin) + lamFloor);
        if (lamEff > lambda) lambda = lamEff;
        const A00 = J00 + lamEff;
        const A11 = J11 + lamEff * three;
        const det = A00 * A11 - J01 * J01;
        const s0 = (-F0 * A11 + F1 * J01) / det;
        const s1 = (-F1 * A00 + F0 * J01) / det;
        const smax = Math.max(Math.abs(s0), Math.abs(s1));
        let shrink = 1;
        if (smax > this.constants.maxStep) shrink = this.constants.maxStep / smax;
        const y0 = z0 + shrink * s0;
        const y1 = z1 + shrink * s1 * three;
        // Merit and residual at the trial point.
        let my = Math.max(y0, 0);
        if (three > 0.5) my = Math.max(my, y1);
        const g0 = Math.exp(y0 - my);
        let g1 = Math.exp(-my);
        let g2 = 0;
        if (three > 0.5) {
          g1 = Math.exp(y1 - my);
          g2 = Math.exp(-my);
        }
        const gs = g0 + g1 + g2;
        const q0 = g0 / gs;
        const q1 = g1 / gs;
        const q2 = g2 / gs;
        const lsy = my + Math.log(gs);
        const o0 = q1 + q2;
        const o1 = q0 + q2;
        const o2 = q0 + q1;
        const fy =
          ptPert(t0, o0, a01, a02, a03, a04, a05) -
          t0 * (y0 - lsy) +
          ptPert(t1, o1, a11, a12, a13, a14, a15) -
          t1 * (y1 * three - lsy) +
          ptPert(t2, o2, a21, a22, a23, a24, a25) +
          t2 * lsy;
        const v0 = ptWeight(t0, q0, o0, a01, a02, a03, a04, a05);
        const v1 = ptWeight(t1, q1, o1, a11, a12, a13, a14, a15);
        const v2 = ptWeight(t2, q2, o2, a21, a22, a23, a24, a25);
        const Sy = v0 + v1 + v2;
        const G0 = v0 - q0 * Sy;
        let G1 = 0;
        if (three > 0.5) G1 = v1 - q1 * Sy;
        const phiNew = G0 * G0 + G1 * G1;
        let accept = 0;
        if (fy < f) accept = 1;
        if (fy <= f + this.constants.slack * (1 + Math.abs(f)) && phiNew < phi) accept = 1;
        if (accept > 0.5) {
          z0 = y0;
          z1 = y1;
          p0 = q0;
          p1 = q1;
          p2 = q2;
          u0 = o0;
          u1 = o1;
          u2 = o2;
          w0 = v0;
          w1 = v1;
          w2 = v2;
          f = fy;
          lambda = lambda * 0.1;
          if (lambda < 1e-12 * (jmax + 1e-12)) lambda = 0;
        } else {
          lambda = Math.max(10 * lambda, lamFloor);
          if (lambda > 1e30) done = 2;
        }
      }
    }
  }
  if (slot < 0.5) return z0;
  if (slot < 1.5) return z1;
  if (done > 0.5 && done < 1.5) return iters;
  // Stalled at float32 resolution but close: hand it to the float64 polish (status −(iters+1) + 0.5).
  if (relNow <= this.constants.nearTol) return -iters - 0.5;
  return -iters - 1;
}

/**
 * Run the kernel over `trials` coefficient sets and `examples` teacher rows in one launch.
 * `teacher`, `teacherLogits`: [N, C]; `eps`: [T, C, M]. Returns the same layout as the reference.
 */
export function solveProxyKernel(
  teacher: ArrayLike<number>,
  teacherLogits: ArrayLike<number>,
  eps: ArrayLike<number>,
  examples: number,
  classes: number,
  order: number,
  trials: number,
  settings: SolverSettings,
): RawSolve {
  if (classes < 2 || classes > KERNEL_MAX_CLASSES) {
    throw new PtlossError(
      `solveProxyKernel: the gpu.js kernel handles 2..${KERNEL_MAX_CLASSES} classes, got ${classes} (use engine 'reference')`,
    );
  }
  if (order > KERNEL_MAX_ORDER) {
    throw new PtlossError(
      `solveProxyKernel: the gpu.js kernel handles orders up to ${KERNEL_MAX_ORDER}, got ${order} (use engine 'reference')`,
    );
  }
  const k = classes - 1;
  const tPad = new Float32Array(examples * 3);
  const zPad = new Float32Array(examples * 3);
  for (let n = 0; n < examples; n++) {
    for (let c = 0; c < classes; c++) {
      tPad[n * 3 + c] = teacher[n * classes + c];
      zPad[n * 3 + c] = teacherLogits[n * classes + c];
    }
  }
  const ePad = new Float32Array(trials * 15);
  for (let tr = 0; tr < trials; tr++) {
    for (let c = 0; c < classes; c++) {
      for (let m = 0; m < order; m++) ePad[tr * 15 + c * 5 + m] = eps[(tr * classes + c) * order + m];
    }
  }
  const out = runKernel(
    {
      name: 'ptlossProxy',
      fn: proxyKernel as unknown as (this: KernelThis<ProxyConsts>, ...args: number[][]) => number,
      output: [3, examples, trials],
      constants: {
        C: classes,
        M: order,
        maxIter: settings.maxIterations,
        tol: settings.tolerance,
        maxStep: settings.maxStep,
        slack: KERNEL_MERIT_SLACK,
        nearTol: KERNEL_NEAR_TOLERANCE,
      },
      functions: [ptWeight, ptWeightSlope, ptPert],
      loopMaxIterations: settings.maxIterations,
    },
    tPad,
    zPad,
    ePad,
  );
  const total = trials * examples;
  const logits = new Float64Array(total * k);
  const iterations = new Int32Array(total);
  const converged = new Uint8Array(total);
  for (let i = 0; i < total; i++) {
    logits[i * k] = out[i * 3];
    if (k > 1) logits[i * k + 1] = out[i * 3 + 1];
    const status = out[i * 3 + 2];
    const stalledNear = status < 0 && Math.abs(-status - Math.floor(-status) - 0.5) < 0.01;
    converged[i] = status >= 0 ? 1 : stalledNear ? 2 : 0;
    iterations[i] = status >= 0 ? status : Math.floor(-status - 0.5);
  }
  return { logits, iterations, converged };
}
