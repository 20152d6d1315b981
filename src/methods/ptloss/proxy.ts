/**
 * The proxy teacher (Eqs. 4.17-4.19): for each example, the student distribution at which ℓ_PT-M
 * with teacher pᵗ and coefficients ε is stationary. Solved in logit space (last logit fixed at 0)
 * by Newton steps with a Levenberg–Marquardt fallback and the analytic Jacobian, starting from the
 * teacher's logits. Batched over examples and over several coefficient sets at once.
 *
 * Engines: 'kernel' runs the gpu.js kernel (C ≤ 3, M ≤ 5) on the current ops backend in float32 and
 * polishes its answers with float64 Newton steps; 'reference' (default) runs the plain-TS float64 solver. Both report, per example, whether it converged,
 * the iterations used and the float64 residual of the returned logits; examples that did not
 * converge keep the solver's last iterate and are listed in `failures`, never replaced.
 */
import type { BackendName } from '../../ops';
import { padOrder, type Coefficients } from './coefficients';
import { PtlossError } from './errors';
import { assertDistributions, type Matrix, type Matrix64 } from './matrix';
import { solveProxyKernel, KERNEL_MAX_CLASSES, KERNEL_MAX_ORDER } from './proxy-kernel';
import { DEFAULT_SOLVER, solveProxyReference, type RawSolve, type SolverSettings } from './proxy-reference';
import { solveSmallExample, type SmallSolve } from './proxy-small';
import { evaluateStationarity, reducedSoftmax, stationarityBuffers } from './stationarity';

export type ProxyEngine = 'kernel' | 'reference';

/** Float32 arithmetic cannot reach the float64 tolerance; the kernel's default relative tolerance. */
export const KERNEL_TOLERANCE = 1e-5;

/** Float64 polishing steps allowed after the kernel (Newton converges quadratically from ~1e-6). */
export const REFINE_STEPS = 5;

export interface ProxyOptions {
  /**
   * 'reference' (default) or 'kernel'. On the 2-core CI machine the float64 plain-TS solver is both
   * faster than the gpu.js kernel on every backend (bench/results/ptloss-proxy-search.json) and more
   * robust for teachers within ~1e-6 of a one-hot vector, where float32 cannot resolve the proxy.
   */
  engine?: ProxyEngine;
  /** Initial logits [N, C]; default log pᵗ. */
  teacherLogits?: Matrix;
  /**
   * Kernel engine only: polish each example the float32 kernel solved with float64 Newton steps on
   * the host (at most REFINE_STEPS; default true). An example the polish cannot bring to the float64
   * tolerance is reported as not converged.
   */
  refine?: boolean;
  /** Solver settings; tolerance defaults to 1e-10 (reference) or KERNEL_TOLERANCE (kernel). */
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
  engine: ProxyEngine;
  /** Kernel engine: examples the kernel left stalled near a solution that the float64 polish then solved. */
  rescuedByPolish: number;
  /** Float64 Newton steps spent polishing kernel solutions (0 for the reference engine). */
  refinedSteps: number;
  /** Backend that ran the kernel (engine 'kernel' only). */
  backend?: BackendName;
  settings: SolverSettings;
}

/** Log-probabilities as default initial logits; every teacher probability must be > 0. */
function initialLogits(teacher: Matrix, n: number, c: number, given?: Matrix): Float64Array {
  const z = new Float64Array(n * c);
  if (given) {
    if (given.shape.length !== 2 || given.shape[0] !== n || given.shape[1] !== c) {
      throw new PtlossError(
        `solveProxy: teacherLogits shape [${given.shape.join(', ')}] must be [${n}, ${c}]`,
      );
    }
    for (let i = 0; i < n * c; i++) {
      if (!Number.isFinite(given.data[i]))
        throw new PtlossError(`solveProxy: teacherLogits value ${i} is not finite`);
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
  if (c < 2) throw new PtlossError(`${fn}: need at least 2 classes, got ${c}`);
  if (eps.length === 0) throw new PtlossError(`${fn}: no coefficient sets given`);
  for (let i = 0; i < n * c; i++) {
    if (!(teacher.data[i] > 0)) {
      throw new PtlossError(
        `${fn}: teacher[${Math.floor(i / c)}][${i % c}] = ${teacher.data[i]}; the proxy teacher needs every teacher probability > 0 (its logit would be −∞)`,
      );
    }
  }
  const order = Math.max(...eps.map((e) => e.order));
  const flat = new Float64Array(eps.length * c * order);
  eps.forEach((e, t) => {
    if (e.classes !== c)
      throw new PtlossError(`${fn}: coefficient set ${t} is for ${e.classes} classes, teacher has ${c}`);
    flat.set(padOrder(e, order).values, t * c * order);
  });
  const z0 = initialLogits(teacher, n, c, opts.teacherLogits);
  const engine: ProxyEngine = opts.engine ?? 'reference';
  if (engine === 'kernel' && (c > KERNEL_MAX_CLASSES || order > KERNEL_MAX_ORDER))
    raiseKernelLimits(c, order);
  const settings: SolverSettings = {
    ...DEFAULT_SOLVER,
    tolerance: engine === 'kernel' ? KERNEL_TOLERANCE : DEFAULT_SOLVER.tolerance,
    ...opts.settings,
  };
  if (!(settings.maxIterations >= 1) || !(settings.tolerance > 0) || !(settings.maxStep > 0)) {
    throw new PtlossError(`${fn}: invalid solver settings ${JSON.stringify(settings)}`);
  }
  let raw: RawSolve;
  let backend: BackendName | undefined;
  let refinedSteps = 0;
  let rescued = 0;
  if (engine === 'kernel') {
    raw = solveProxyKernel(teacher.data, z0, flat, n, c, order, eps.length, settings);
    backend = 'gl';
    if (opts.refine ?? true)
      [refinedSteps, rescued] = refineInFloat64(teacher.data, flat, raw, n, c, order, eps.length);
  } else {
    raw = solveProxyReference(teacher.data, z0, flat, n, c, order, eps.length, settings);
  }
  const batch = finish(teacher, flat, raw, n, c, order, eps.length, engine, backend, settings);
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
  engine: ProxyEngine,
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
    engine,
    rescuedByPolish: 0,
    refinedSteps: 0,
    backend,
    settings,
  };
}

/** Probabilities of one trial as an [N, C] matrix (a copy). */
export function trialProbs(batch: ProxyBatch, trial: number): Matrix64 {
  if (!(trial >= 0 && trial < batch.trials))
    throw new PtlossError(`trialProbs: trial ${trial} out of range 0..${batch.trials - 1}`);
  const { examples: n, classes: c } = batch;
  return { data: batch.probs.data.slice(trial * n * c, (trial + 1) * n * c), shape: [n, c] };
}

/**
 * Float64 polish of the kernel's float32 solutions (mixed-precision refinement): for each example
 * the kernel marked converged, run the reference iteration from its logits with at most
 * REFINE_STEPS steps and the float64 tolerance; examples that do not meet it become non-converged.
 */
function refineInFloat64(
  teacher: ArrayLike<number>,
  eps: Float64Array,
  raw: RawSolve,
  n: number,
  c: number,
  order: number,
  trials: number,
): [number, number] {
  const k = c - 1;
  const three = c === 3;
  const a = new Float64Array(trials * 15);
  for (let tr = 0; tr < trials; tr++) {
    for (let cl = 0; cl < c; cl++) {
      for (let m = 0; m < order; m++) a[tr * 15 + cl * 5 + m] = eps[(tr * c + cl) * order + m];
    }
  }
  const out: SmallSolve = { z0: 0, z1: 0, iterations: 0, converged: false, residual: NaN };
  const residual = new Float64Array(trials * n).fill(NaN);
  raw.residual = residual;
  let steps = 0;
  let rescued = 0;
  for (let i = 0; i < trials * n; i++) {
    if (!raw.converged[i]) continue;
    const tr = Math.floor(i / n);
    const o = (i - tr * n) * c;
    solveSmallExample(
      teacher[o],
      teacher[o + 1],
      three ? teacher[o + 2] : 0,
      a,
      tr * 15,
      raw.logits[i * k],
      three ? raw.logits[i * k + 1] : 0,
      three,
      REFINE_STEPS + 1,
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

function raiseKernelLimits(c: number, order: number): never {
  throw new PtlossError(
    `solveProxy: the gpu.js kernel handles 2..${KERNEL_MAX_CLASSES} classes and orders ≤ ${KERNEL_MAX_ORDER}, got C = ${c}, M = ${order} (use engine 'reference')`,
  );
}
