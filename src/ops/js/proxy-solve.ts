/**
 * Float64 proxy-teacher solve for C ≤ 3, M ≤ 5 (the js kernel and the reference of `proxySolve`): the
 * same `proxyKernel` the gl backend runs on the GPU (../proxy-maths.ts), called per example on the CPU,
 * where every operation is float64.
 */
import type { KernelThis } from '../gl/kernel-this';
import { proxyKernel, type ProxyConsts } from '../proxy-maths';
import { decodeSolve, padProblem, type ProxyProblem, type RawSolve } from '../proxy-solve';

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

type Kernel = (
  this: KernelThis<ProxyConsts>,
  t: ArrayLike<number>,
  z: ArrayLike<number>,
  e: ArrayLike<number>,
) => number[];
const kernel = proxyKernel as unknown as Kernel;

function cpuThis(classes: number, maxIter: number, tol: number, maxStep: number): KernelThis<ProxyConsts> {
  return {
    thread: { x: 0, y: 0, z: 0 },
    output: { x: 1, y: 1, z: 1 },
    constants: { C: classes, maxIter, tol, maxStep, slack: MERIT_SLACK, nearTol: 0 },
  };
}

/** `proxySolve` kernel of the js backend (and the reference): every (trial, example) in float64. */
export function proxySolveJs(p: ProxyProblem): RawSolve {
  const { teacher, logits, eps } = padProblem(p);
  const self = cpuThis(p.classes, p.settings.maxIterations, p.settings.tolerance, p.settings.maxStep);
  const out = new Float64Array(p.trials * p.examples * 4);
  for (let tr = 0; tr < p.trials; tr++) {
    self.thread.y = tr;
    for (let n = 0; n < p.examples; n++) {
      self.thread.x = n;
      out.set(kernel.call(self, teacher, logits, eps), (tr * p.examples + n) * 4);
    }
  }
  return decodeSolve(out, p, true);
}

/**
 * Solve one example from reduced logits (z0, z1) in float64 (the polish of GL answers). `t`: teacher
 * probabilities (t2 = 0 when C = 2); `a`: 15 coefficients (3 classes × 5 orders, zero-padded) from `aOff`.
 */
export function solveProxyExample(
  t0: number,
  t1: number,
  t2: number,
  a: Float64Array,
  aOff: number,
  z0: number,
  z1: number,
  three: boolean,
  maxIter: number,
  tol: number,
  maxStep: number,
  out: ExampleSolve,
): void {
  const self = cpuThis(three ? 3 : 2, maxIter, tol, maxStep);
  const r = kernel.call(self, [t0, t1, t2], three ? [z0, z1, 0] : [z0, 0, 0], a.subarray(aOff, aOff + 15));
  out.z0 = r[0];
  out.z1 = three ? r[1] : 0;
  out.converged = r[2] >= 0;
  out.iterations = r[2] >= 0 ? r[2] : Math.floor(-r[2] - 0.5);
  out.residual = r[3];
}
