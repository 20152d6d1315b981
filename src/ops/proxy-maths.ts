/**
 * The PTLoss proxy-teacher solve (Eqs. 4.17-4.19) for C ≤ 3 classes and orders M ≤ 5, written once and
 * shared by the gl backend (gpu.js transpiles `proxyKernel` and its helpers to GLSL, float32) and the js
 * backend (which calls the same function per example in float64). Plain numeric code only.
 *
 * Per class c with teacher probability t, student probability p and q = 1 − p (passed in, computed as
 * the sum of the other probabilities: 1 − p itself loses all precision in float32 when p ≈ 1):
 *   h(q) = Σ_m m a_m q^{m−1},  w = −t (1 + p h),  dw/dp = −t (h − p dh/dq),  pert = t Σ_m a_m q^m.
 */
import type { KernelThis } from './gl/kernel-this';

/** w_c = −t (1 + p h) (Horner in q; a_m zero beyond the order). */
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

/** t Σ_m a_m q^m, the perturbation part of ℓ_PT-M for one class (Horner). */
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

/** dw_c/dp_c = −t (h − p dh/dq). */
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

/**
 * ℓ_PT-M without Σ t log t (the merit the damped Newton iteration descends), from the probabilities p,
 * the reduced logits z0, z1 (last logit 0; z1 = 0 when C = 2) and lse = log Σ e^z.
 */
export function ptMerit(
  t0: number,
  t1: number,
  t2: number,
  p0: number,
  p1: number,
  p2: number,
  z0: number,
  z1: number,
  lse: number,
  a01: number,
  a02: number,
  a03: number,
  a04: number,
  a05: number,
  a11: number,
  a12: number,
  a13: number,
  a14: number,
  a15: number,
  a21: number,
  a22: number,
  a23: number,
  a24: number,
  a25: number,
): number {
  return (
    ptPert(t0, p1 + p2, a01, a02, a03, a04, a05) -
    t0 * (z0 - lse) +
    ptPert(t1, p0 + p2, a11, a12, a13, a14, a15) -
    t1 * (z1 - lse) +
    ptPert(t2, p0 + p1, a21, a22, a23, a24, a25) +
    t2 * lse
  );
}

/** Constants of the iteration: classes, step cap, tolerance, largest step, merit slack, stall tolerance. */
export interface ProxyConsts {
  C: number;
  maxIter: number;
  tol: number;
  maxStep: number;
  slack: number;
  nearTol: number;
}

/**
 * The damped-Newton iteration for one (example x, trial y), written once: GL runs it per thread in float32
 * (gl/proxy-solve.ts), the js backend calls it per example in float64 (js/proxy-solve.ts). Each pass
 * evaluates one point (the start, then each trial step) and adopts it or raises the damping.
 * Inputs: teacher [N·3] probabilities, init [N·3] logits, eps [T·3·5] (zero-padded).
 * Returns [z0, z1, status, relative residual].
 */
export function proxyKernel(
  this: KernelThis<ProxyConsts>,
  teacher: number[],
  init: number[],
  eps: number[],
): number[] {
  const tb = this.thread.x * 3;
  const eb = this.thread.y * 15;
  let t0 = teacher[tb];
  let t1 = teacher[tb + 1];
  let t2 = teacher[tb + 2];
  let a01 = eps[eb], a02 = eps[eb + 1], a03 = eps[eb + 2], a04 = eps[eb + 3], a05 = eps[eb + 4]; // prettier-ignore
  let a11 = eps[eb + 5], a12 = eps[eb + 6], a13 = eps[eb + 7], a14 = eps[eb + 8], a15 = eps[eb + 9]; // prettier-ignore
  let a21 = eps[eb + 10], a22 = eps[eb + 11], a23 = eps[eb + 12], a24 = eps[eb + 13], a25 = eps[eb + 14]; // prettier-ignore
  let i0 = init[tb];
  let i1 = init[tb + 1];
  let i2 = init[tb + 2];
  // Class C−1 is the fixed one; with C = 2 the third class is absent (t2 = 0, z1 = 0). With three classes
  // the class of largest teacher probability is swapped into the fixed slot (pivot): fixing the logit of
  // a class with pᵗ ≈ 1e-11 leaves that class's probability on the common-mode direction of (z0, z1),
  // where the 2×2 system is singular to working precision and the iteration stalls near 1e-9.
  let three = 0;
  let piv = 2;
  if (this.constants.C > 2.5) {
    three = 1;
    if (t0 > t2 && t0 >= t1) piv = 0;
    if (t1 > t2 && t1 > t0) piv = 1;
  }
  // prettier-ignore
  if (piv < 0.5) {
    let tmp = t0; t0 = t2; t2 = tmp; tmp = i0; i0 = i2; i2 = tmp;
    tmp = a01; a01 = a21; a21 = tmp; tmp = a02; a02 = a22; a22 = tmp; tmp = a03; a03 = a23; a23 = tmp;
    tmp = a04; a04 = a24; a24 = tmp; tmp = a05; a05 = a25; a25 = tmp;
  }
  // prettier-ignore
  if (piv > 0.5 && piv < 1.5) {
    let tmp = t1; t1 = t2; t2 = tmp; tmp = i1; i1 = i2; i2 = tmp;
    tmp = a11; a11 = a21; a21 = tmp; tmp = a12; a12 = a22; a22 = tmp; tmp = a13; a13 = a23; a23 = tmp;
    tmp = a14; a14 = a24; a24 = tmp; tmp = a15; a15 = a25; a25 = tmp;
  }
  let y0 = i0 - i1;
  let y1 = 0;
  if (three > 0.5) {
    y0 = i0 - i2;
    y1 = i1 - i2;
  }
  let z0 = y0;
  let z1 = y1;
  let p0 = 0;
  let p1 = 0;
  let p2 = 0;
  let w0 = 0;
  let w1 = 0;
  let w2 = 0;
  let f = 0;
  let phi = 0;
  let lambda = 0;
  let lamFloor = 0;
  let jmax = 0;
  let done = 0;
  let iters = 0;
  let rel = 1e30;
  for (let pass = 0; pass <= this.constants.maxIter; pass++) {
    if (done < 0.5) {
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
      const v0 = ptWeight(t0, q0, q1 + q2, a01, a02, a03, a04, a05);
      const v1 = ptWeight(t1, q1, q0 + q2, a11, a12, a13, a14, a15);
      const v2 = ptWeight(t2, q2, q0 + q1, a21, a22, a23, a24, a25);
      const fy = ptMerit(t0, t1, t2, q0, q1, q2, y0, y1, my + Math.log(gs), a01, a02, a03, a04, a05, a11, a12, a13, a14, a15, a21, a22, a23, a24, a25); // prettier-ignore
      const Sy = v0 + v1 + v2;
      const G0 = v0 - q0 * Sy;
      const G1 = (v1 - q1 * Sy) * three;
      const phiNew = G0 * G0 + G1 * G1;
      let accept = 0;
      if (pass < 0.5 || fy < f) accept = 1;
      if (fy <= f + this.constants.slack * (1 + Math.abs(f)) && phiNew < phi) accept = 1;
      if (accept > 0.5) {
        if (pass > 0.5) lambda = lambda * 0.1;
        if (lambda < 1e-12 * (jmax + 1e-12)) lambda = 0;
        z0 = y0;
        z1 = y1;
        p0 = q0;
        p1 = q1;
        p2 = q2;
        w0 = v0;
        w1 = v1;
        w2 = v2;
        f = fy;
        phi = phiNew; // prettier-ignore
      } else {
        lambda = Math.max(10 * lambda, lamFloor);
        if (lambda > 1e30) done = 2;
      }
    }
    if (done < 0.5) {
      const S = w0 + w1 + w2;
      const F0 = w0 - p0 * S;
      const F1 = (w1 - p1 * S) * three;
      const sc0 = Math.abs(w0) + p0 * Math.abs(S);
      const sc1 = Math.abs(w1) + p1 * Math.abs(S);
      rel = Math.max(Math.abs(F0) / Math.max(sc0, 1e-30), Math.abs(F1) / Math.max(sc1, 1e-30));
      if (Math.abs(F0) <= this.constants.tol * sc0 && Math.abs(F1) <= this.constants.tol * sc1) done = 1;
      if (done < 0.5 && iters >= this.constants.maxIter) done = 3;
      if (done < 0.5) {
        iters = iters + 1;
        const u0 = p1 + p2;
        const u1 = p0 + p2;
        const d0 = ptWeightSlope(t0, p0, u0, a01, a02, a03, a04, a05);
        const d1 = ptWeightSlope(t1, p1, u1, a11, a12, a13, a14, a15);
        const d2 = ptWeightSlope(t2, p2, p0 + p1, a21, a22, a23, a24, a25);
        const T = d0 * p0 + d1 * p1 + d2 * p2;
        let J00 = (d0 - S) * p0 * u0 - p0 * p0 * (d0 - T);
        let J01 = 0;
        let J11 = 1;
        if (three > 0.5) {
          J01 = -p0 * p1 * (d0 + d1 - S - T);
          J11 = (d1 - S) * p1 * u1 - p1 * p1 * (d1 - T);
        }
        // Jacobi scaling (Marquardt): a class with a tiny teacher probability has a Jacobian row ~p_c
        // (~1e-10), which an unscaled damping λ ≥ 1e-3·max|J_ii| would freeze. Damp the scaled system
        // D^{-1/2} J D^{-1/2} (unit diagonal magnitude) and map the step back with D^{-1/2}.
        const r0 = 1 / Math.sqrt(Math.max(Math.abs(J00), 1e-30));
        let r1 = 1;
        if (three > 0.5) r1 = 1 / Math.sqrt(Math.max(Math.abs(J11), 1e-30));
        J00 = J00 * r0 * r0;
        J01 = J01 * r0 * r1;
        J11 = J11 * r1 * r1;
        const H0 = F0 * r0;
        const H1 = F1 * r1;
        jmax = Math.abs(J00);
        if (three > 0.5) jmax = Math.max(jmax, Math.abs(J11));
        lamFloor = 1e-3 * jmax + 1e-12;
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
        const s0 = ((-H0 * A11 + H1 * J01) / det) * r0;
        const s1 = ((-H1 * A00 + H0 * J01) / det) * r1;
        const smax = Math.max(Math.abs(s0), Math.abs(s1));
        let shrink = 1;
        if (smax > this.constants.maxStep) shrink = this.constants.maxStep / smax;
        y0 = z0 + shrink * s0;
        y1 = z1 + shrink * s1 * three;
      }
    }
  }
  // Status: the step count k when converged, −k − 0.5 when stalled within nearTol of a solution, else −k − 1.
  let status = -iters - 1;
  if (rel <= this.constants.nearTol) status = -iters - 0.5;
  if (done > 0.5 && done < 1.5) status = iters;
  // Undo the pivot: report logits relative to class C−1 again.
  let o0 = z0;
  let o1 = z1;
  if (piv < 0.5) {
    o0 = -z0;
    o1 = z1 - z0;
  }
  if (piv > 0.5 && piv < 1.5) {
    o0 = z0 - z1;
    o1 = -z1;
  }
  return [o0, o1, status, rel];
}
