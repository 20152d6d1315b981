/**
 * Scalar maths of the PTLoss proxy-teacher solve (Eqs. 4.17-4.19) for C ≤ 3 classes and orders M ≤ 5,
 * shared by the gpu.js kernel (gl/proxy-solve.ts, passed as GLSL helper functions) and the float64
 * solver (js/proxy-solve.ts). Plain numeric functions only: gpu.js transpiles them.
 *
 * Per class c with teacher probability t, student probability p and q = 1 − p (passed in, computed as
 * the sum of the other probabilities: 1 − p itself loses all precision in float32 when p ≈ 1):
 *   h(q) = Σ_m m a_m q^{m−1},  w = −t (1 + p h),  dw/dp = −t (h − p dh/dq),  pert = t Σ_m a_m q^m.
 */

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

/** Relative residual of one stationarity equation: |F| / (|w| + p |S|) (scale-free convergence test). */
export function ptRelResidual(F: number, w: number, p: number, S: number): number {
  return Math.abs(F) / Math.max(Math.abs(w) + p * Math.abs(S), 1e-30);
}
