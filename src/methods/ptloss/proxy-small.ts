/**
 * Plain-TS twin of the gpu.js proxy kernel (proxy-kernel.ts) for C ≤ 3 classes and M ≤ 5 orders:
 * the same damped-Newton iteration with closed-form 2×2 algebra, in float64, one call per example.
 * `solveProxyReference` uses it for small problems; the general-C path is the Cholesky solver.
 */
import { relativeResidual } from './stationarity';
import { ptPert as kernelPert, ptWeight as kernelWeight, ptWeightSlope as kernelSlope } from './proxy-kernel';

// Local bindings: calling through the module object costs an export getter per call in CommonJS
// output, which stops V8 from inlining these hot helpers.
const ptWeight = kernelWeight;
const ptWeightSlope = kernelSlope;
const ptPert = kernelPert;

/** Per-example output: reduced logits z0, z1 (last logit 0), iterations, converged flag. */
export interface SmallSolve {
  z0: number;
  z1: number;
  iterations: number;
  converged: boolean;
  /** Relative residual (see `relativeResidual`) at the returned logits. */
  residual: number;
}

const MERIT_SLACK = 1e-14;

/**
 * Solve one example. `t`: teacher probs (t2 = 0 when C = 2); `a`: 15 coefficients (3 classes × 5
 * orders, zero-padded); `z0`, `z1`: initial reduced logits; `three`: whether C = 3.
 */
export function solveSmallExample(
  t0: number,
  t1: number,
  t2: number,
  a: Float64Array,
  aOff: number,
  z0Init: number,
  z1Init: number,
  three: boolean,
  maxIter: number,
  tol: number,
  maxStep: number,
  out: SmallSolve,
): void {
  const a01 = a[aOff], a02 = a[aOff + 1], a03 = a[aOff + 2], a04 = a[aOff + 3], a05 = a[aOff + 4]; // prettier-ignore
  const a11 = a[aOff + 5], a12 = a[aOff + 6], a13 = a[aOff + 7], a14 = a[aOff + 8], a15 = a[aOff + 9]; // prettier-ignore
  const a21 = a[aOff + 10], a22 = a[aOff + 11], a23 = a[aOff + 12], a24 = a[aOff + 13], a25 = a[aOff + 14]; // prettier-ignore
  const th = three ? 1 : 0;
  let z0 = z0Init;
  let z1 = three ? z1Init : 0;
  // State at the current point: probabilities, weights w_c, slopes w'_c and the merit ℓ.
  const mx = three ? Math.max(z0, z1, 0) : Math.max(z0, 0);
  const e0 = Math.exp(z0 - mx);
  const e1 = Math.exp(z1 - mx);
  const e2 = three ? Math.exp(-mx) : 0;
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
  let f = meritOf(t0, t1, t2, p0, p1, p2, z0, z1 * th, lse, a, aOff);
  let lambda = 0;
  let iters = 0;
  let ok = false;
  for (let it = 0; it < maxIter; it++) {
    const S = w0 + w1 + w2;
    const F0 = w0 - p0 * S;
    const F1 = three ? w1 - p1 * S : 0;
    const aS = Math.abs(S);
    if (Math.abs(F0) <= tol * (Math.abs(w0) + p0 * aS) && Math.abs(F1) <= tol * (Math.abs(w1) + p1 * aS)) {
      ok = true;
      break;
    }
    iters++;
    const phi = F0 * F0 + F1 * F1;
    const d0 = ptWeightSlope(t0, p0, u0, a01, a02, a03, a04, a05);
    const d1 = ptWeightSlope(t1, p1, u1, a11, a12, a13, a14, a15);
    const d2 = ptWeightSlope(t2, p2, u2, a21, a22, a23, a24, a25);
    const T = d0 * p0 + d1 * p1 + d2 * p2;
    const J00 = (d0 - S) * p0 * u0 - p0 * p0 * (d0 - T);
    const J01 = three ? -p0 * p1 * (d0 + d1 - S - T) : 0;
    const J11 = three ? (d1 - S) * p1 * u1 - p1 * p1 * (d1 - T) : 1;
    const jmax = three ? Math.max(Math.abs(J00), Math.abs(J11)) : Math.abs(J00);
    const lamFloor = 1e-3 * jmax + 1e-12;
    const half = 0.5 * (J00 - J11);
    const eigMin = three ? 0.5 * (J00 + J11) - Math.sqrt(half * half + J01 * J01) : J00;
    let lamEff = lambda;
    if (eigMin + lamEff <= 1e-6 * jmax + 1e-30) lamEff = Math.max(lamFloor, 2 * Math.abs(eigMin) + lamFloor);
    if (lamEff > lambda) lambda = lamEff;
    const A00 = J00 + lamEff;
    const A11 = J11 + lamEff * th;
    const det = A00 * A11 - J01 * J01;
    const s0 = (-F0 * A11 + F1 * J01) / det;
    const s1 = (-F1 * A00 + F0 * J01) / det;
    const smax = Math.max(Math.abs(s0), Math.abs(s1));
    const shrink = smax > maxStep ? maxStep / smax : 1;
    const y0 = z0 + shrink * s0;
    const y1 = z1 + shrink * s1 * th;
    const my = three ? Math.max(y0, y1, 0) : Math.max(y0, 0);
    const g0 = Math.exp(y0 - my);
    const g1 = Math.exp(y1 - my);
    const g2 = three ? Math.exp(-my) : 0;
    const gs = g0 + g1 + g2;
    const q0 = g0 / gs;
    const q1 = g1 / gs;
    const q2 = g2 / gs;
    const lsy = my + Math.log(gs);
    const o0 = q1 + q2;
    const o1 = q0 + q2;
    const o2 = q0 + q1;
    const fy = meritOf(t0, t1, t2, q0, q1, q2, y0, y1 * th, lsy, a, aOff);
    const v0 = ptWeight(t0, q0, o0, a01, a02, a03, a04, a05);
    const v1 = ptWeight(t1, q1, o1, a11, a12, a13, a14, a15);
    const v2 = ptWeight(t2, q2, o2, a21, a22, a23, a24, a25);
    const Sy = v0 + v1 + v2;
    const G0 = v0 - q0 * Sy;
    const G1 = three ? v1 - q1 * Sy : 0;
    const phiNew = G0 * G0 + G1 * G1;
    if (fy < f || (fy <= f + MERIT_SLACK * (1 + Math.abs(f)) && phiNew < phi)) {
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
      lambda *= 0.1;
      if (lambda < 1e-12 * (jmax + 1e-12)) lambda = 0;
    } else {
      lambda = Math.max(10 * lambda, lamFloor);
      if (lambda > 1e30) break;
    }
  }
  // The state (p, w) always belongs to the current z, so the final residual needs no new exp.
  const S = w0 + w1 + w2;
  const r0 = relativeResidual(w0 - p0 * S, w0, p0, S);
  const r1 = three ? relativeResidual(w1 - p1 * S, w1, p1, S) : 0;
  out.z0 = z0;
  out.z1 = z1;
  out.iterations = iters;
  out.converged = ok;
  out.residual = Math.max(r0, r1);
}

/** ℓ_PT-M without Σ t log t, from probabilities and logits (last logit 0, lse = log Σ e^z). */
function meritOf(
  t0: number,
  t1: number,
  t2: number,
  p0: number,
  p1: number,
  p2: number,
  z0: number,
  z1: number,
  lse: number,
  a: Float64Array,
  o: number,
): number {
  return (
    ptPert(t0, p1 + p2, a[o], a[o + 1], a[o + 2], a[o + 3], a[o + 4]) -
    t0 * (z0 - lse) +
    ptPert(t1, p0 + p2, a[o + 5], a[o + 6], a[o + 7], a[o + 8], a[o + 9]) -
    t1 * (z1 - lse) +
    ptPert(t2, p0 + p1, a[o + 10], a[o + 11], a[o + 12], a[o + 13], a[o + 14]) +
    t2 * lse
  );
}
