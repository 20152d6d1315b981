/**
 * gpu.js launch of the proxy-teacher solve (C ≤ 3, M ≤ 5): one thread per (example, trial) runs the whole
 * iteration of `proxyKernel` (../proxy-maths.ts) in float32 and returns [z0, z1, status, residual] as a
 * vec4, so a search is one launch with no per-iteration read-back. An example that stalled at float32
 * resolution within PROXY_NEAR_TOLERANCE of a solution is marked 2 for the caller's float64 polish.
 */
import { proxyKernel, ptMerit, ptPert, ptWeight, ptWeightSlope, type ProxyConsts } from '../proxy-maths';
import { decodeSolve, padProblem, type ProxyProblem, type RawSolve } from '../proxy-solve';
import type { KernelThis } from './kernel-this';
import { runKernel } from './runtime';

/** A stalled example this close (relative residual) is handed to the float64 polish instead of failing. */
export const PROXY_NEAR_TOLERANCE = 1e-3;

/** Relative slack on the merit test: float32 rounding of ℓ near its minimum. */
const MERIT_SLACK_F32 = 3e-6;

/** `proxySolve` on GL: one launch over [N examples, T trials], four values per thread. */
export function proxySolveGl(p: ProxyProblem): RawSolve {
  const { teacher, logits, eps } = padProblem(p);
  const out = runKernel(
    {
      name: 'ptlossProxy',
      fn: proxyKernel as unknown as (this: KernelThis<ProxyConsts>, ...args: number[][]) => number[],
      output: [p.examples, p.trials],
      vec4: true,
      constants: {
        C: p.classes,
        maxIter: p.settings.maxIterations,
        tol: p.settings.tolerance,
        maxStep: p.settings.maxStep,
        slack: MERIT_SLACK_F32,
        nearTol: PROXY_NEAR_TOLERANCE,
      },
      functions: [ptWeight, ptWeightSlope, ptPert, ptMerit],
      loopMaxIterations: p.settings.maxIterations + 1,
    },
    Float32Array.from(teacher),
    Float32Array.from(logits),
    Float32Array.from(eps),
  );
  return decodeSolve(out, p, false);
}
