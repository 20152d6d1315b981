/**
 * The proxy teacher (Eqs. 4.17-4.19): for each example, the student distribution at which ℓ_PT-M
 * with teacher pᵗ and coefficients ε is stationary. Solved in logit space (last logit fixed at 0)
 * by Newton steps with a Levenberg–Marquardt fallback and the analytic Jacobian, starting from the
 * teacher's logits. Batched over examples and over several coefficient sets at once.
 *
 * Problems with C ≤ 3 classes and orders M ≤ 5 run the ops layer's fused `proxySolve` on the selected
 * backend (one switch: `setBackend` / `withBackend` / `EFFLAB_BACKEND`): js and wasm solve in float64;
 * gl solves in float32 on the GPU and its answers are polished here with float64 Newton steps. Larger
 * problems run the general float64 Cholesky solver (proxy-reference.ts). Every path reports, per example,
 * whether it converged, the iterations used and the float64 residual of the returned logits; examples
 * that did not converge keep the solver's last iterate and are listed in `failures`, never replaced.
 */
import {
  DEFAULT_SOLVER,
  PROXY_MAX_CLASSES,
  PROXY_MAX_ORDER,
  getBackend,
  lastBackendRan,
  padCoefficients,
  proxySolve,
  resolveKernelBackend,
  solveProxyExample,
  type BackendName,
  type ExampleSolve,
  type ProxyProblem,
  type RawSolve,
  type SolverSettings,
} from '../../ops';
import { padOrder, type Coefficients } from './coefficients';
import { NonFiniteError, ShapeError, ValueError } from '../../errors';
import { assertDistributions, type Matrix, type Matrix64 } from './matrix';
import { solveProxyGeneral } from './proxy-reference';
import { evaluateStationarity, reducedSoftmax, stationarityBuffers } from './stationarity';

/** Which solver produced a batch: the ops layer's fused solve (C ≤ 3, M ≤ 5) or the general one. */
export type ProxySolver = 'fused' | 'general';

/** Float32 arithmetic cannot reach the float64 tolerance: the GL solve's default relative tolerance. */
export const KERNEL_TOLERANCE = 1e-5;

/** Float64 polishing steps allowed after the kernel (Newton converges quadratically from ~1e-6). */
export const REFINE_STEPS = 5;

export interface ProxyOptions {
  /** Initial logits [N, C]; default log pᵗ. */
  teacherLogits?: Matrix;
  /**
   * GL (float32) solve only: polish each example the GPU solved with float64 Newton steps on the host
   * (at most REFINE_STEPS; default true). An example the polish cannot bring to the float64 tolerance
   * is reported as not converged.
   */
  refine?: boolean;
  /** Solver settings; tolerance defaults to 1e-10 (float64 solves) or KERNEL_TOLERANCE (GL, float32). */
  settings?: Partial<SolverSettings>;
}

export interface ProxyFailure {
  trial: number;
  example: number;
  iterations: number;
  /** Relative residual (`relativeResidual`) of the last iterate, in float64. */
  residual: number;
}

export interface ProxyBatch {
  trials: number;
  examples: number;
  classes: number;
  /** Proxy-teacher probabilities, [T·N, C] (row trial·N + example). */
  probs: Matrix64;
  /** Reduced logits (last fixed at 0), [T·N, C−1]. */
  logits: Float64Array;
  converged: Uint8Array;
  iterations: Int32Array;
  /** Float64 relative residual of each returned solution. */
  residual: Float64Array;
  /** Non-converged (trial, example) pairs, in order. */
  failures: ProxyFailure[];
  solver: ProxySolver;
  /** GL solve: examples the GPU left stalled near a solution that the float64 polish then solved. */
  rescuedByPolish: number;
  /** Float64 Newton steps spent polishing GL solutions (0 for float64 solves). */
  refinedSteps: number;
  /** Backend that ran the fused solve (undefined for the general solver). */
  backend?: BackendName;
  settings: SolverSettings;
}

/** Log-probabilities as default initial logits; every teacher probability must be > 0. */
function initialLogits(teacher: Matrix, n: number, c: number, given?: Matrix): Float64Array {
  const z = new Float64Array(n * c);
  if (given) {
    if (given.shape.length !== 2 || given.shape[0] !== n || given.shape[1] !== c) {
      throw new ShapeError(
        `solveProxy: teacherLogits shape [${given.shape.join(', ')}] must be [${n}, ${c}]`,
      );
    }
    for (let i = 0; i < n * c; i++) {
      if (!Number.isFinite(given.data[i]))
        throw new NonFiniteError(`solveProxy: teacherLogits value ${i} is not finite`);
      z[i] = given.data[i];
    }
    return z;
  }
  for (let i = 0; i < n * c; i++) z[i] = Math.log(teacher.data[i]);
  return z;
}

/**
 * Solve the proxy teacher for every coefficient set in `eps` (Eqs. 4.17-4.19). Sets of smaller
 * order are zero-padded to the largest order (identical loss). Returns all T·N solutions.
 */
export function solveProxyBatch(
  teacher: Matrix,
  eps: readonly Coefficients[],
  opts: ProxyOptions = {},
): ProxyBatch {
  const fn = 'solveProxy';
  const [n, c] = assertDistributions(teacher, fn, 'teacher');
  if (c < 2) throw new ValueError(`${fn}: need at least 2 classes, got ${c}`);
  if (eps.length === 0) throw new ValueError(`${fn}: no coefficient sets given`);
  for (let i = 0; i < n * c; i++) {
    if (!(teacher.data[i] > 0)) {
      throw new ValueError(
        `${fn}: teacher[${Math.floor(i / c)}][${i % c}] = ${teacher.data[i]}; the proxy teacher needs every teacher probability > 0 (its logit would be −∞)`,
      );
    }
  }
  const order = Math.max(...eps.map((e) => e.order));
  const flat = new Float64Array(eps.length * c * order);
  eps.forEach((e, t) => {
    if (e.classes !== c)
      throw new ShapeError(`${fn}: coefficient set ${t} is for ${e.classes} classes, teacher has ${c}`);
    flat.set(padOrder(e, order).values, t * c * order);
  });
  const z0 = initialLogits(teacher, n, c, opts.teacherLogits);
  const solver: ProxySolver = c <= PROXY_MAX_CLASSES && order <= PROXY_MAX_ORDER ? 'fused' : 'general';
  const float32 = solver === 'fused' && resolveKernelBackend(getBackend(), 'proxySolve') === 'gl';
  const settings: SolverSettings = {
    ...DEFAULT_SOLVER,
    tolerance: float32 ? KERNEL_TOLERANCE : DEFAULT_SOLVER.tolerance,
    ...opts.settings,
  };
  if (!(settings.maxIterations >= 1) || !(settings.tolerance > 0) || !(settings.maxStep > 0)) {
    throw new ValueError(`${fn}: invalid solver settings ${JSON.stringify(settings)}`);
  }
  let raw: RawSolve;
  let backend: BackendName | undefined;
  let refinedSteps = 0;
  let rescued = 0;
  if (solver === 'fused') {
    const problem: ProxyProblem = {
      teacher: teacher.data,
      teacherLogits: z0,
      eps: flat,
      examples: n,
      classes: c,
      order,
      trials: eps.length,
      settings,
    };
    raw = proxySolve(problem);
    backend = lastBackendRan('proxySolve');
    if (float32 && (opts.refine ?? true)) [refinedSteps, rescued] = refineInFloat64(problem, raw);
  } else {
    raw = solveProxyGeneral(teacher.data, z0, flat, n, c, order, eps.length, settings);
  }
  const batch = finish(teacher, flat, raw, n, c, order, eps.length, solver, backend, settings);
  batch.refinedSteps = refinedSteps;
  batch.rescuedByPolish = rescued;
  return batch;
}

/** Single coefficient set convenience wrapper around `solveProxyBatch` (Eq. 4.19). */
export function solveProxy(teacher: Matrix, eps: Coefficients, opts: ProxyOptions = {}): ProxyBatch {
  return solveProxyBatch(teacher, [eps], opts);
}

function finish(
  teacher: Matrix,
  eps: Float64Array,
  raw: RawSolve,
  n: number,
  c: number,
  order: number,
  trials: number,
  solver: ProxySolver,
  backend: BackendName | undefined,
  settings: SolverSettings,
): ProxyBatch {
  const k = c - 1;
  const total = trials * n;
  const probs = new Float64Array(total * c);
  const residual = new Float64Array(total);
  const failures: ProxyFailure[] = [];
  const buf = stationarityBuffers(c);
  const p = new Float64Array(c);
  for (let i = 0; i < total; i++) {
    const z = raw.logits.subarray(i * k, (i + 1) * k);
    reducedSoftmax(z, c, p);
    probs.set(p, i * c);
    const tr = Math.floor(i / n);
    const ex = i - tr * n;
    const known = raw.residual ? raw.residual[i] : NaN;
    if (Number.isNaN(known)) {
      evaluateStationarity(z, teacher.data, ex * c, eps, tr * c * order, c, order, false, buf);
      residual[i] = buf.rel;
    } else {
      residual[i] = known;
    }
    if (raw.converged[i] !== 1) raw.converged[i] = 0;
    if (!raw.converged[i])
      failures.push({ trial: tr, example: ex, iterations: raw.iterations[i], residual: residual[i] });
  }
  return {
    trials,
    examples: n,
    classes: c,
    probs: { data: probs, shape: [total, c] },
    logits: raw.logits,
    converged: raw.converged,
    iterations: raw.iterations,
    residual,
    failures,
    solver,
    rescuedByPolish: 0,
    refinedSteps: 0,
    backend,
    settings,
  };
}

/** Probabilities of one trial as an [N, C] matrix (a copy). */
export function trialProbs(batch: ProxyBatch, trial: number): Matrix64 {
  if (!(trial >= 0 && trial < batch.trials))
    throw new ValueError(`trialProbs: trial ${trial} out of range 0..${batch.trials - 1}`);
  const { examples: n, classes: c } = batch;
  return { data: batch.probs.data.slice(trial * n * c, (trial + 1) * n * c), shape: [n, c] };
}

/**
 * Float64 polish of the GL solve's float32 solutions (mixed-precision refinement): for each example
 * the GPU marked converged, run the float64 iteration from its logits with at most REFINE_STEPS steps
 * and the float64 tolerance; examples that do not meet it become non-converged.
 */
function refineInFloat64(problem: ProxyProblem, raw: RawSolve): [number, number] {
  const { teacher, examples: n, classes: c, trials } = problem;
  const k = c - 1;
  const three = c === 3;
  const a = padCoefficients(problem);
  const out: ExampleSolve = { z0: 0, z1: 0, iterations: 0, converged: false, residual: NaN };
  const residual = new Float64Array(trials * n).fill(NaN);
  raw.residual = residual;
  let steps = 0;
  let rescued = 0;
  for (let i = 0; i < trials * n; i++) {
    if (!raw.converged[i]) continue;
    const tr = Math.floor(i / n);
    const o = (i - tr * n) * c;
    solveProxyExample(
      teacher[o],
      teacher[o + 1],
      three ? teacher[o + 2] : 0,
      a,
      tr * 15,
      raw.logits[i * k],
      three ? raw.logits[i * k + 1] : 0,
      three,
      REFINE_STEPS,
      DEFAULT_SOLVER.tolerance,
      DEFAULT_SOLVER.maxStep,
      out,
    );
    steps += out.iterations;
    raw.logits[i * k] = out.z0;
    if (three) raw.logits[i * k + 1] = out.z1;
    if (out.converged && raw.converged[i] === 2) rescued++;
    raw.converged[i] = out.converged ? 1 : 0;
    residual[i] = out.residual;
  }
  return [steps, rescued];
}
