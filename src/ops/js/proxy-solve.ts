/**
 * Float64 proxy-teacher solve for C ≤ 3, M ≤ 5 (the js kernel and the reference of `proxySolve`): the
 * GL kernel's damped-Newton iteration in double precision, one example at a time. Each pass evaluates one
 * point (the start, then each trial step) and either adopts it or raises the damping.
 */
import { ptMerit, ptRelResidual, ptWeight, ptWeightSlope } from '../proxy-maths';
import { padCoefficients, type ProxyProblem, type RawSolve } from '../proxy-solve';

/** Per-example output: reduced logits z0, z1 (last logit 0), steps, converged flag, final residual. */
export interface ExampleSolve {
  z0: number;
  z1: number;
  iterations: number;
  converged: boolean;
  residual: number;
}

/** Relative slack on the merit test: float64 rounding of ℓ near its minimum. */
const MERIT_SLACK = 1e-14;

/**
 * Solve one example from logits (z0, z1). `t`: teacher probs (t2 = 0 when C = 2); `a`: 15 coefficients
 * (3 classes × 5 orders, zero-padded) from `aOff`; `three`: whether C = 3.
 */
export function solveProxyExample(
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
  out: ExampleSolve,
): void {
  const a01 = a[aOff], a02 = a[aOff + 1], a03 = a[aOff + 2], a04 = a[aOff + 3], a05 = a[aOff + 4]; // prettier-ignore
  const a11 = a[aOff + 5], a12 = a[aOff + 6], a13 = a[aOff + 7], a14 = a[aOff + 8], a15 = a[aOff + 9]; // prettier-ignore
  const a21 = a[aOff + 10], a22 = a[aOff + 11], a23 = a[aOff + 12], a24 = a[aOff + 13], a25 = a[aOff + 14]; // prettier-ignore
  const th = three ? 1 : 0;
  let y0 = z0Init;
  let y1 = three ? z1Init : 0;
  let z0 = y0;
  let z1 = y1;
  let p0 = 0, p1 = 0, p2 = 0, w0 = 0, w1 = 0, w2 = 0, f = 0, phi = 0; // prettier-ignore
  let lambda = 0;
  let lamFloor = 0;
  let jmax = 0;
  let iters = 0;
  let ok = false;
  let rel = Infinity;
  for (let pass = 0; pass <= maxIter; pass++) {
    // Evaluate the point y: probabilities, weights, merit and squared residual.
    const my = three ? Math.max(y0, y1, 0) : Math.max(y0, 0);
    const g0 = Math.exp(y0 - my);
    const g1 = Math.exp(y1 - my);
    const g2 = three ? Math.exp(-my) : 0;
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
    const G1 = three ? v1 - q1 * Sy : 0;
    const phiNew = G0 * G0 + G1 * G1;
    if (pass === 0 || fy < f || (fy <= f + MERIT_SLACK * (1 + Math.abs(f)) && phiNew < phi)) {
      if (pass > 0) {
        lambda *= 0.1;
        if (lambda < 1e-12 * (jmax + 1e-12)) lambda = 0;
      }
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
      if (lambda > 1e30) break;
    }
    // Converged at the current point? Otherwise one damped Newton step from it.
    const S = w0 + w1 + w2;
    const F0 = w0 - p0 * S;
    const F1 = three ? w1 - p1 * S : 0;
    rel = Math.max(ptRelResidual(F0, w0, p0, S), three ? ptRelResidual(F1, w1, p1, S) : 0);
    if (
      Math.abs(F0) <= tol * (Math.abs(w0) + p0 * Math.abs(S)) &&
      Math.abs(F1) <= tol * (Math.abs(w1) + p1 * Math.abs(S))
    ) {
      ok = true;
      break;
    }
    if (iters >= maxIter) break;
    iters++;
    const u0 = p1 + p2;
    const u1 = p0 + p2;
    const d0 = ptWeightSlope(t0, p0, u0, a01, a02, a03, a04, a05);
    const d1 = ptWeightSlope(t1, p1, u1, a11, a12, a13, a14, a15);
    const d2 = ptWeightSlope(t2, p2, p0 + p1, a21, a22, a23, a24, a25);
    const T = d0 * p0 + d1 * p1 + d2 * p2;
    const J00 = (d0 - S) * p0 * u0 - p0 * p0 * (d0 - T);
    const J01 = three ? -p0 * p1 * (d0 + d1 - S - T) : 0;
    const J11 = three ? (d1 - S) * p1 * u1 - p1 * p1 * (d1 - T) : 1;
    // (J + λI) s = −F with λ raised until J + λI is positive definite, so s descends ℓ.
    jmax = three ? Math.max(Math.abs(J00), Math.abs(J11)) : Math.abs(J00);
    lamFloor = 1e-3 * jmax + 1e-12;
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
    y0 = z0 + shrink * s0;
    y1 = z1 + shrink * s1 * th;
  }
  out.z0 = z0;
  out.z1 = z1;
  out.iterations = iters;
  out.converged = ok;
  out.residual = rel;
}

/** `proxySolve` kernel of the js backend (and the reference): every (trial, example) in float64. */
export function proxySolveJs(p: ProxyProblem): RawSolve {
  const k = p.classes - 1;
  const three = p.classes === 3;
  const total = p.trials * p.examples;
  const logits = new Float64Array(total * k);
  const iterations = new Int32Array(total);
  const converged = new Uint8Array(total);
  const residual = new Float64Array(total);
  const a = padCoefficients(p);
  const out: ExampleSolve = { z0: 0, z1: 0, iterations: 0, converged: false, residual: NaN };
  const { teacher: t, teacherLogits: z, settings: s } = p;
  for (let tr = 0; tr < p.trials; tr++) {
    for (let n = 0; n < p.examples; n++) {
      const o = n * p.classes;
      const last = z[o + k];
      solveProxyExample(
        t[o],
        t[o + 1],
        three ? t[o + 2] : 0,
        a,
        tr * 15,
        z[o] - last,
        three ? z[o + 1] - last : 0,
        three,
        s.maxIterations,
        s.tolerance,
        s.maxStep,
        out,
      );
      const idx = tr * p.examples + n;
      logits[idx * k] = out.z0;
      if (three) logits[idx * k + 1] = out.z1;
      iterations[idx] = out.iterations;
      converged[idx] = out.converged ? 1 : 0;
      residual[idx] = out.residual;
    }
  }
  return { logits, iterations, converged, residual };
}
