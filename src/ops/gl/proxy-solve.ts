/**
 * gpu.js kernel of the proxy-teacher solve (C ≤ 3, M ≤ 5): one thread per (slot, example, trial) runs
 * the whole damped-Newton iteration of js/proxy-solve.ts in float32, so a search is one launch with no
 * per-iteration read-back. Slots 0 and 1 return the reduced logits z0, z1 (last logit 0); slot 2 the step
 * count k when it converged, −k − 1 when it did not, −k − 0.5 when it stalled at float32 resolution
 * within PROXY_NEAR_TOLERANCE of a solution (the caller's float64 polish then decides).
 */
import { ptMerit, ptPert, ptWeight, ptWeightSlope } from '../proxy-maths';
import { padCoefficients, type ProxyProblem, type RawSolve } from '../proxy-solve';
import type { KernelThis } from './kernel-this';
import { runKernel } from './runtime';

/** A stalled example this close (relative residual) is handed to the float64 polish instead of failing. */
export const PROXY_NEAR_TOLERANCE = 1e-3;

/** Relative slack on the merit test: float32 rounding of ℓ near its minimum. */
const MERIT_SLACK_F32 = 3e-6;

interface ProxyConsts {
  C: number;
  maxIter: number;
  tol: number;
  maxStep: number;
  slack: number;
  nearTol: number;
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
  const a01 = eps[eb], a02 = eps[eb + 1], a03 = eps[eb + 2], a04 = eps[eb + 3], a05 = eps[eb + 4]; // prettier-ignore
  const a11 = eps[eb + 5], a12 = eps[eb + 6], a13 = eps[eb + 7], a14 = eps[eb + 8], a15 = eps[eb + 9]; // prettier-ignore
  const a21 = eps[eb + 10], a22 = eps[eb + 11], a23 = eps[eb + 12], a24 = eps[eb + 13], a25 = eps[eb + 14]; // prettier-ignore
  // Class C−1 is the fixed one; with C = 2 the third class is absent (t2 = 0, z1 = 0).
  let three = 0;
  let y0 = init[tb] - init[tb + 1];
  let y1 = 0;
  if (this.constants.C > 2.5) {
    three = 1;
    y0 = init[tb] - init[tb + 2];
    y1 = init[tb + 1] - init[tb + 2];
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
        const J00 = (d0 - S) * p0 * u0 - p0 * p0 * (d0 - T);
        let J01 = 0;
        let J11 = 1;
        jmax = Math.abs(J00);
        if (three > 0.5) {
          J01 = -p0 * p1 * (d0 + d1 - S - T);
          J11 = (d1 - S) * p1 * u1 - p1 * p1 * (d1 - T);
          jmax = Math.max(jmax, Math.abs(J11));
        }
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
        const s0 = (-F0 * A11 + F1 * J01) / det;
        const s1 = (-F1 * A00 + F0 * J01) / det;
        const smax = Math.max(Math.abs(s0), Math.abs(s1));
        let shrink = 1;
        if (smax > this.constants.maxStep) shrink = this.constants.maxStep / smax;
        y0 = z0 + shrink * s0;
        y1 = z1 + shrink * s1 * three;
      }
    }
  }
  if (slot < 0.5) return z0;
  if (slot < 1.5) return z1;
  if (done > 0.5 && done < 1.5) return iters;
  if (rel <= this.constants.nearTol) return -iters - 0.5;
  return -iters - 1;
}

/** `proxySolve` on GL: one launch over [3 slots, N examples, T trials]. */
export function proxySolveGl(p: ProxyProblem): RawSolve {
  const { examples, classes, trials, settings } = p;
  const k = classes - 1;
  const tPad = new Float32Array(examples * 3);
  const zPad = new Float32Array(examples * 3);
  for (let n = 0; n < examples; n++) {
    for (let c = 0; c < classes; c++) {
      tPad[n * 3 + c] = p.teacher[n * classes + c];
      zPad[n * 3 + c] = p.teacherLogits[n * classes + c];
    }
  }
  const out = runKernel(
    {
      name: 'ptlossProxy',
      fn: proxyKernel as unknown as (this: KernelThis<ProxyConsts>, ...args: number[][]) => number,
      output: [3, examples, trials],
      constants: {
        C: classes,
        maxIter: settings.maxIterations,
        tol: settings.tolerance,
        maxStep: settings.maxStep,
        slack: MERIT_SLACK_F32,
        nearTol: PROXY_NEAR_TOLERANCE,
      },
      functions: [ptWeight, ptWeightSlope, ptPert, ptMerit],
      loopMaxIterations: settings.maxIterations + 1,
    },
    tPad,
    zPad,
    Float32Array.from(padCoefficients(p)),
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
