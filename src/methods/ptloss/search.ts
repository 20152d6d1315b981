/**
 * Automated selection of the perturbation coefficients (Algorithm 2, Eq. 4.20): for each order
 * M = 1..N_M draw N_k coefficient sets uniformly from a box, solve the proxy teacher of each on the
 * validation set, score it with Q̂ and keep the lowest. All N_M·N_k draws are independent, so they
 * are drawn first (in Algorithm 2's order, from a seeded generator) and solved in batches; the
 * trace lists every trial in that order with its score and its unsolved-example count.
 */
import type { BackendName } from '../../ops';
import type { Coefficients } from './coefficients';
import { ValueError } from '../../errors';
import { assertDistributions, type Matrix } from './matrix';
import { solveProxyBatch, type ProxyFailure, type ProxySolver } from './proxy';
import type { SolverSettings } from '../../ops';
import { checkLabels, qualityScore } from './quality';
import { Rng } from './rng';

export interface SearchOptions {
  /** N_M: largest perturbation order tried (orders 1..N_M). */
  maxOrder: number;
  /** N_k: random coefficient sets per order. */
  trialsPerOrder: number;
  /** Search box for every ε_{c,m} (thesis: [−1, 10]). */
  box?: readonly [number, number];
  /** Seed of the coefficient draws. */
  seed?: number;
  /** Trials per solver launch (default: all of them in one launch). */
  batchSize?: number;
  /** Solver settings passed to the proxy solve. */
  settings?: Partial<SolverSettings>;
  /**
   * What to do with a trial whose proxy has unsolved examples: 'exclude' (default) lets it compete only
   * when at least `minSolvedFraction` of the examples were solved (scored on the solved ones);
   * 'score-solved' lets any trial with a solved example compete on those examples.
   */
  failurePolicy?: 'exclude' | 'score-solved';
  /**
   * Under 'exclude': the fraction of validation examples a trial's proxy must solve to be eligible
   * (default DEFAULT_MIN_SOLVED_FRACTION = 0.999; 1 = every example). The thesis is silent on failures.
   */
  minSolvedFraction?: number;
  /** Called after each trial is scored (live plots). */
  onTrial?: (trial: TrialRecord) => void;
  /** Keep each trial's proxy probabilities in the trace (memory: N_v·C per trial). */
  keepProxies?: boolean;
}

export interface TrialRecord {
  /** Position in Algorithm 2's loop order (0-based). */
  index: number;
  /** Perturbation order M of this draw. */
  order: number;
  coefficients: Coefficients;
  /** Q̂ over the examples whose proxy was solved (Eq. 4.20). */
  quality: number;
  distanceTerm: number;
  entropyTerm: number;
  /** Validation examples whose proxy solve did not converge. */
  unsolved: number;
  /** Solved examples / validation examples. */
  solvedFraction: number;
  /** Whether this trial may be chosen as best under the failure policy. */
  eligible: boolean;
  /** Lowest eligible Q̂ up to and including this trial. */
  bestSoFar: number;
  /** Proxy probabilities [N_v·C] when `keepProxies` is set. */
  proxy?: Float64Array;
}

export interface SearchResult {
  /** The winning trial (lowest eligible Q̂), undefined if no trial was eligible. */
  best: TrialRecord | undefined;
  trace: TrialRecord[];
  /** Every unsolved (trial, example) pair; trial is the trace index. */
  failures: ProxyFailure[];
  /** The failures summarised: how many pairs and trials, which examples (most affected first). */
  failureSummary: FailureSummary;
  /** Trials eligible under the failure policy. */
  eligibleTrials: number;
  /** The proxy solver used (the ops layer's fused solve, or the general one for C > 3 or M > 5). */
  solver: ProxySolver;
  /** Backend that ran the fused solve (chosen by `setBackend` / `withBackend` / `EFFLAB_BACKEND`). */
  backend?: BackendName;
  /** Wall time of the proxy solves and of the scoring, ms. */
  solveMs: number;
  scoreMs: number;
}

/** Default share of validation examples a trial must solve to be eligible (see `minSolvedFraction`). */
export const DEFAULT_MIN_SOLVED_FRACTION = 0.999;

export interface FailureSummary {
  /** Unsolved (trial, example) pairs. */
  pairs: number;
  /** Trials with at least one unsolved example. */
  trialsAffected: number;
  /** Each example that failed in some trial, with the number of trials it failed in (most first). */
  examples: { example: number; trials: number }[];
}

/** Count the unsolved pairs per example (the report behind the eligibility policy). */
export function summarizeFailures(failures: readonly ProxyFailure[]): FailureSummary {
  const perExample = new Map<number, number>();
  const trials = new Set<number>();
  for (const f of failures) {
    perExample.set(f.example, (perExample.get(f.example) ?? 0) + 1);
    trials.add(f.trial);
  }
  const examples = [...perExample.entries()]
    .map(([example, n]) => ({ example, trials: n }))
    .sort((a, b) => b.trials - a.trials || a.example - b.example);
  return { pairs: failures.length, trialsAffected: trials.size, examples };
}

/** Draw Algorithm 2's coefficient sets: for M = 1..N_M, N_k sets with entries uniform in `box`. */
export function drawCoefficients(
  classes: number,
  maxOrder: number,
  trialsPerOrder: number,
  box: readonly [number, number],
  seed: number,
): Coefficients[] {
  const [lo, hi] = box;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) {
    throw new ValueError(`drawCoefficients: box [${lo}, ${hi}] must be finite with lo ≤ hi`);
  }
  if (!Number.isInteger(maxOrder) || maxOrder < 1)
    throw new ValueError(`drawCoefficients: maxOrder ${maxOrder} must be an integer ≥ 1`);
  if (!Number.isInteger(trialsPerOrder) || trialsPerOrder < 1) {
    throw new ValueError(`drawCoefficients: trialsPerOrder ${trialsPerOrder} must be an integer ≥ 1`);
  }
  const rng = new Rng(seed);
  const out: Coefficients[] = [];
  for (let M = 1; M <= maxOrder; M++) {
    for (let k = 0; k < trialsPerOrder; k++) {
      const values = new Float64Array(classes * M);
      for (let i = 0; i < values.length; i++) values[i] = rng.uniform(lo, hi);
      out.push({ classes, order: M, values });
    }
  }
  return out;
}

/**
 * Algorithm 2: choose ε minimising Q̂ (Eq. 4.20) of the proxy teacher on the validation set.
 * `teacher`: [N_v, C] teacher probabilities on the validation inputs; `labels`: their classes.
 */
export function searchCoefficients(
  teacher: Matrix,
  labels: ArrayLike<number>,
  opts: SearchOptions,
): SearchResult {
  const fn = 'searchCoefficients';
  const [n, c] = assertDistributions(teacher, fn, 'teacher');
  checkLabels(labels, n, c, fn);
  const box = opts.box ?? [-1, 10];
  const draws = drawCoefficients(c, opts.maxOrder, opts.trialsPerOrder, box, opts.seed ?? 0);
  return scoreCandidates(teacher, labels, draws, opts);
}

/** Score given candidate coefficient sets exactly as Algorithm 2 does (shared with the search). */
export function scoreCandidates(
  teacher: Matrix,
  labels: ArrayLike<number>,
  draws: readonly Coefficients[],
  opts: Omit<SearchOptions, 'maxOrder' | 'trialsPerOrder'> = {},
): SearchResult {
  const [n, c] = assertDistributions(teacher, 'scoreCandidates', 'teacher');
  checkLabels(labels, n, c, 'scoreCandidates');
  const batchSize = opts.batchSize ?? draws.length;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new ValueError(`searchCoefficients: batchSize ${batchSize} must be an integer ≥ 1`);
  const policy = opts.failurePolicy ?? 'exclude';
  const minSolved = opts.minSolvedFraction ?? DEFAULT_MIN_SOLVED_FRACTION;
  if (!(minSolved >= 0 && minSolved <= 1))
    throw new ValueError(`searchCoefficients: minSolvedFraction ${minSolved} must be in [0, 1]`);
  let eligibleTrials = 0;
  const trace: TrialRecord[] = [];
  const failures: ProxyFailure[] = [];
  let best: TrialRecord | undefined;
  let solveMs = 0;
  let scoreMs = 0;
  let solver: ProxySolver = 'fused';
  let backend: BackendName | undefined;
  const include = new Uint8Array(n);
  for (let start = 0; start < draws.length; start += batchSize) {
    const chunk = draws.slice(start, start + batchSize);
    const t0 = performance.now();
    const batch = solveProxyBatch(teacher, chunk, { settings: opts.settings });
    const t1 = performance.now();
    solveMs += t1 - t0;
    solver = batch.solver;
    backend = batch.backend;
    for (const f of batch.failures) failures.push({ ...f, trial: f.trial + start });
    for (let j = 0; j < chunk.length; j++) {
      let unsolved = 0;
      for (let e = 0; e < n; e++) {
        include[e] = batch.converged[j * n + e];
        if (!include[e]) unsolved++;
      }
      const q = qualityScore(batch.probs, labels, include, j * n);
      const solvedFraction = (n - unsolved) / n;
      const eligible = q.count > 0 && (policy === 'score-solved' || solvedFraction >= minSolved);
      if (eligible) eligibleTrials++;
      const index = start + j;
      const rec: TrialRecord = {
        index,
        order: chunk[j].order,
        coefficients: chunk[j],
        quality: q.quality,
        distanceTerm: q.distanceTerm,
        entropyTerm: q.entropyTerm,
        unsolved,
        solvedFraction,
        eligible,
        bestSoFar: NaN,
      };
      if (opts.keepProxies) rec.proxy = batch.probs.data.slice(j * n * c, (j + 1) * n * c);
      if (eligible && (best === undefined || q.quality < best.quality)) best = rec;
      rec.bestSoFar = best ? best.quality : NaN;
      trace.push(rec);
      opts.onTrial?.(rec);
    }
    scoreMs += performance.now() - t1;
  }
  return {
    best,
    trace,
    failures,
    failureSummary: summarizeFailures(failures),
    eligibleTrials,
    solver,
    backend,
    solveMs,
    scoreMs,
  };
}
