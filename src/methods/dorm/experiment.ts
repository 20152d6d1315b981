/**
 * The Table 3.2 analogue: every weighting scheme trained on the same noisy sources and scored on the clean
 * test set, over several seeds, beside the length baselines, two ceilings and a control.
 * - uniform (SFT) and prior only train on training ∪ validation (as the thesis does for a fair comparison);
 * - bilevel without prior, DORM and per-source DORM use the validation set in the upper level (Algorithm 1);
 * - control: Algorithm 1 with w frozen at 1, which isolates what θ gains from the validation term;
 * - ceilings: the true labels, and the flipped pairs dropped (both also train on training ∪ validation).
 */
import { lengthBaselines, type LengthBaselines } from '../../data';
import { ValueError } from '../../errors';
import { pairAccuracy, type HeadConfig } from './head';
import { auroc, meanSd, sourceShares, spearman } from './metrics';
import { priorWeights, type PriorOptions, type PriorWeights } from './prior';
import { runBilevel, type BilevelOptions, type BilevelResult, type WeightSnapshot } from './solver';
import { splitTask, type DormSplit, type PairSet, type PreferenceTask, type SplitOptions } from './task';
import { concatPairs, trainWeighted, type TrainOptions } from './train';

export const METHODS = [
  'uniform (SFT)',
  'prior only',
  'bilevel w/o prior',
  'DORM',
  'DORM per source',
  'control: w frozen at 1',
  'ceiling: true labels',
  'ceiling: flipped dropped',
] as const;
export type MethodName = (typeof METHODS)[number];

export interface ExperimentOptions {
  seeds?: number[];
  /** Head shape (default hidden 32, dropout 0.1, Bradley–Terry). */
  head?: Partial<HeadConfig>;
  split?: Omit<SplitOptions, 'seed'>;
  train?: TrainOptions;
  prior?: PriorOptions;
  bilevel?: BilevelOptions;
  methods?: readonly MethodName[];
  /** Called with every weight snapshot of the DORM runs (for the live tracker). */
  onLog?: (method: MethodName, seed: number, s: WeightSnapshot) => void;
  /** Called after each (method, seed) finishes. */
  onResult?: (method: MethodName, seed: number, accuracy: number) => void;
}

export interface SeedRun {
  seed: number;
  split: DormSplit;
  prior: PriorWeights;
  accuracy: Partial<Record<MethodName, number>>;
  dorm?: BilevelResult;
  dormSource?: BilevelResult;
  bilevelNoPrior?: BilevelResult;
}

export interface TableRow {
  method: string;
  mean: number;
  sd: number;
  runs: number[];
}

export interface ExperimentResult {
  task: string;
  sources: string[];
  flipRates: number[];
  runs: SeedRun[];
  table: TableRow[];
  /** Length baselines on the union of the test sets (real task only). */
  lengths?: LengthBaselines;
  /** Per-source shares of the final DORM weights (mean over seeds), and their Spearman ρ with −flip rate. */
  shares: { method: string; start: number[]; end: number[]; rho: number; auroc: number }[];
}

/** The training pairs with the true labels restored (flips undone). */
export function trueLabels(set: PairSet): PairSet {
  const a = Float32Array.from(set.a);
  const b = Float32Array.from(set.b);
  const d = set.dim;
  for (let r = 0; r < set.n; r++) {
    if (!set.flipped[r]) continue;
    a.set(set.b.subarray(r * d, (r + 1) * d), r * d);
    b.set(set.a.subarray(r * d, (r + 1) * d), r * d);
  }
  const out: PairSet = { ...set, a, b, flipped: new Uint8Array(set.n) };
  if (set.attributes && set.ratingsA && set.ratingsB) {
    const m = set.attributes;
    const ra = Float32Array.from(set.ratingsA);
    const rb = Float32Array.from(set.ratingsB);
    for (let r = 0; r < set.n; r++) {
      if (!set.flipped[r]) continue;
      ra.set(set.ratingsB.subarray(r * m, (r + 1) * m), r * m);
      rb.set(set.ratingsA.subarray(r * m, (r + 1) * m), r * m);
    }
    out.ratingsA = ra;
    out.ratingsB = rb;
  }
  return out;
}

/** Runs the comparison on `task` (Table 3.2 analogue). */
export function runExperiment(task: PreferenceTask, opts: ExperimentOptions = {}): ExperimentResult {
  const seeds = opts.seeds ?? [0, 1, 2];
  if (seeds.length === 0) throw new ValueError('runExperiment: no seeds');
  const methods = new Set(opts.methods ?? METHODS);
  const cfg: HeadConfig = {
    dim: task.dim,
    hidden: 32,
    outputs: 1,
    dropout: 0.1,
    loss: 'bt',
    ...opts.head,
  };
  const runs: SeedRun[] = [];
  let sources: string[] = [];
  let flipRates: number[] = [];
  for (const seed of seeds) {
    const split = splitTask(task, { ...opts.split, seed });
    sources = split.sources;
    flipRates = split.flipRates;
    const S = sources.length;
    const trainVal = concatPairs(split.train, split.validation);
    const tOpts = { ...opts.train, seed };
    const acc: Partial<Record<MethodName, number>> = {};
    const record = (m: MethodName, a: number): void => {
      acc[m] = a;
      opts.onResult?.(m, seed, a);
    };
    // Uniform weights; the same head is the one whose MC-dropout passes give the prior.
    const sft = trainWeighted(cfg, trainVal, tOpts);
    if (methods.has('uniform (SFT)')) record('uniform (SFT)', pairAccuracy(sft.head, sft.params, split.test));
    const prior = priorWeights(sft.head, sft.params, split.train, { ...opts.prior, seed });
    const w0 = prior.w0Normalized;
    if (methods.has('prior only')) {
      const w = new Float64Array(trainVal.n).fill(1);
      w.set(w0);
      const r = trainWeighted(cfg, trainVal, { ...tOpts, weights: w });
      record('prior only', pairAccuracy(r.head, r.params, split.test));
    }
    const bil = (m: MethodName, o: BilevelOptions): BilevelResult => {
      const r = runBilevel(cfg, split.train, split.validation, S, {
        ...opts.bilevel,
        seed,
        ...o,
        onLog: opts.onLog ? (s) => opts.onLog!(m, seed, s) : undefined,
      });
      record(m, pairAccuracy(r.head, r.theta, split.test));
      return r;
    };
    const run: SeedRun = { seed, split, prior, accuracy: acc };
    if (methods.has('bilevel w/o prior')) run.bilevelNoPrior = bil('bilevel w/o prior', { prior: undefined });
    if (methods.has('DORM')) run.dorm = bil('DORM', { prior: w0 });
    if (methods.has('DORM per source'))
      run.dormSource = bil('DORM per source', { prior: w0, weighting: 'source' });
    if (methods.has('control: w frozen at 1')) bil('control: w frozen at 1', { freezeWeights: true });
    if (methods.has('ceiling: true labels')) {
      const r = trainWeighted(cfg, concatPairs(trueLabels(split.train), split.validation), tOpts);
      record('ceiling: true labels', pairAccuracy(r.head, r.params, split.test));
    }
    if (methods.has('ceiling: flipped dropped')) {
      const w = new Float64Array(trainVal.n).fill(1);
      split.train.flipped.forEach((f, i) => (w[i] = f ? 0 : 1));
      const r = trainWeighted(cfg, trainVal, { ...tOpts, weights: w });
      record('ceiling: flipped dropped', pairAccuracy(r.head, r.params, split.test));
    }
    runs.push(run);
  }
  const table: TableRow[] = METHODS.filter((m) => methods.has(m)).map((m) => {
    const xs = runs.map((r) => r.accuracy[m]!).filter((x) => x !== undefined);
    return { method: m, ...meanSd(xs), runs: xs };
  });
  let lengths: LengthBaselines | undefined;
  if (task.chosenLength && task.rejectedLength) {
    const rows: { chosenLength: number; rejectedLength: number }[] = [];
    const pos = new Map<number, number>();
    task.ids.forEach((id, i) => pos.set(id, i));
    for (const r of runs) {
      for (const id of r.split.test.ids) {
        const i = pos.get(id)!;
        rows.push({ chosenLength: task.chosenLength[i], rejectedLength: task.rejectedLength[i] });
      }
    }
    lengths = lengthBaselines(rows);
    table.push(
      { method: 'length: longer wins', mean: lengths.chosenLonger, sd: NaN, runs: [] },
      { method: 'length: shorter wins', mean: lengths.shorterWins, sd: NaN, runs: [] },
    );
  }
  const shares: ExperimentResult['shares'] = [];
  for (const [name, pick] of [
    ['prior w⁰', (r: SeedRun) => ({ start: r.prior.w0Normalized, end: r.prior.w0Normalized })],
    ['bilevel w/o prior', (r: SeedRun) => r.bilevelNoPrior && snapEnds(r.bilevelNoPrior)],
    ['DORM', (r: SeedRun) => r.dorm && snapEnds(r.dorm)],
    ['DORM per source', (r: SeedRun) => r.dormSource && snapEnds(r.dormSource)],
  ] as const) {
    const got = runs.map((r) => ({ r, w: pick(r) })).filter((x) => x.w !== undefined);
    if (got.length === 0) continue;
    const S = sources.length;
    const start = new Array<number>(S).fill(0);
    const end = new Array<number>(S).fill(0);
    let au = 0;
    for (const { r, w } of got) {
      const a = sourceShares(w!.start, r.split.train.source, S);
      const b = sourceShares(w!.end, r.split.train.source, S);
      a.forEach((v, k) => (start[k] += v / got.length));
      b.forEach((v, k) => (end[k] += v / got.length));
      au +=
        auroc(
          Array.from(w!.end, (x) => -x),
          r.split.train.flipped,
        ) / got.length;
    }
    shares.push({
      method: name,
      start,
      end,
      rho: spearman(
        end,
        flipRates.map((f) => -f),
      ),
      auroc: au,
    });
  }
  return { task: task.name, sources, flipRates, runs, table, lengths, shares };
}

function snapEnds(r: BilevelResult): { start: Float64Array; end: Float64Array } {
  return { start: r.history[0].weights, end: r.weights };
}

/** β sweep: DORM for each β on one seed, how far the weights end from the prior, accuracy, AUROC, shares. */
export function betaSweep(
  task: PreferenceTask,
  betas: readonly number[],
  opts: ExperimentOptions & { seed?: number } = {},
): { beta: number; distance: number; accuracy: number; auroc: number; shares: number[] }[] {
  const seed = opts.seed ?? 0;
  const split = splitTask(task, { ...opts.split, seed });
  const cfg: HeadConfig = { dim: task.dim, hidden: 32, outputs: 1, dropout: 0.1, loss: 'bt', ...opts.head };
  const sft = trainWeighted(cfg, concatPairs(split.train, split.validation), { ...opts.train, seed });
  const w0 = priorWeights(sft.head, sft.params, split.train, { ...opts.prior, seed }).w0Normalized;
  return betas.map((beta) => {
    const r = runBilevel(cfg, split.train, split.validation, split.sources.length, {
      ...opts.bilevel,
      seed,
      prior: w0,
      beta,
      init: 'prior',
    });
    let dist = 0;
    r.weights.forEach((w, i) => (dist += Math.abs(w - w0[i]) / r.weights.length));
    return {
      beta,
      distance: dist,
      accuracy: pairAccuracy(r.head, r.theta, split.test),
      auroc: auroc(
        Array.from(r.weights, (x) => -x),
        split.train.flipped,
      ),
      shares: sourceShares(r.weights, split.train.source, split.sources.length),
    };
  });
}
