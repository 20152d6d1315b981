/**
 * The synthetic Gaussian experiment of section 4.6.1 (Fig. 4.3 a/b): teachers of varying quality,
 * students distilled with each loss, the teachers' and proxy teachers' L2 distance to the exact
 * posterior p*, and the correlation between a proxy's distance and its student's accuracy over
 * proxies sampled along the coefficient search. Everything is seeded.
 */
import { coefficientRows, type Coefficients } from './coefficients';
import { accuracy, lossName, predictProbs, trainStudent, type DistillLoss } from './distill';
import { ConfigError, ValueError } from '../../errors';
import { makeGaussianData, meanL2Distance, type GaussianData } from './gaussian';
import type { Matrix64 } from './matrix';
import { solveProxy } from './proxy';
import { DEFAULT_MIN_SOLVED_FRACTION, searchCoefficients, type TrialRecord } from './search';

export interface ExperimentSettings {
  seeds: number[];
  /** Points before the 0.9/0.05/0.05 split (thesis: 10,000). */
  points: number;
  /** Training-set sizes the teachers see (smaller → worse teacher). */
  teacherSizes: number[];
  teacherEpochs: number;
  studentEpochs: number;
  /** Algorithm 2 settings on the validation split. */
  maxOrder: number;
  trialsPerOrder: number;
  box: [number, number];
  /** Proxies sampled along the search for Fig. 4.3b, and which teacher they come from. */
  proxies: number;
  proxyTeacher: number;
  tau: number;
  delta: number;
  gamma: number;
  eskdPatience: number;
  /** Share of validation examples a search trial must solve to be eligible (default 0.999, see search.ts). */
  minSolvedFraction?: number;
}

/**
 * Thesis scale: 10k points, 100 epochs, orders 1..3 × 100 draws, 10 proxies, three seeds. Estimated from
 * the measured per-epoch cost: about 1 hour of CPU time (29 students × 100 epochs per seed), hours of wall
 * time on a shared machine.
 */
export const FULL_SETTINGS: ExperimentSettings = {
  seeds: [1, 2, 3],
  points: 10000,
  teacherSizes: [90, 450, 9000],
  teacherEpochs: 100,
  studentEpochs: 100,
  maxOrder: 3,
  trialsPerOrder: 100,
  box: [-1, 10],
  proxies: 10,
  proxyTeacher: 1,
  tau: 2,
  delta: 0.1,
  gamma: 1,
  eskdPatience: 5,
};

/**
 * Same protocol with 10 teacher and 3 student epochs (one epoch of 282 batches already brings a one-hot
 * student within a point of the Bayes accuracy on this problem). Estimated from the measured per-epoch
 * cost (≈0.4 s of CPU per student epoch over 9,000 points): about 2 minutes of CPU time.
 */
export const REDUCED_SETTINGS: ExperimentSettings = {
  ...FULL_SETTINGS,
  teacherEpochs: 10,
  studentEpochs: 3,
  eskdPatience: 1,
};

/**
 * What "run all" gets: the thesis data (10,000 points, teachers on 90 / 450 / 9,000 examples, three seeds)
 * and the full search (orders 1..3 × 100 draws), with 30 teacher epochs, 4 student epochs and 6 sampled
 * proxies. Measured on the shared 2-core machine (notebook 04, run all): 4.8 min wall, 2.2 min of CPU time.
 */
export const DEFAULT_SETTINGS: ExperimentSettings = {
  ...FULL_SETTINGS,
  teacherEpochs: 30,
  studentEpochs: 4,
  proxies: 6,
  eskdPatience: 1,
};

/** Seconds-scale settings for CI and the headless notebook run. */
export const CI_SETTINGS: ExperimentSettings = {
  ...FULL_SETTINGS,
  seeds: [1],
  points: 1500,
  teacherSizes: [40, 1350],
  teacherEpochs: 8,
  studentEpochs: 2,
  maxOrder: 2,
  trialsPerOrder: 10,
  proxies: 4,
  proxyTeacher: 0,
  eskdPatience: 1,
};

/** Preset names: quick (CI, seconds), default (minutes), thesis (the full protocol, hours), reduced. */
export type PresetName = 'quick' | 'default' | 'thesis' | 'reduced';

const PRESETS: Record<PresetName, ExperimentSettings> = {
  quick: CI_SETTINGS,
  default: DEFAULT_SETTINGS,
  thesis: FULL_SETTINGS,
  reduced: REDUCED_SETTINGS,
};
const ALIASES: Record<string, PresetName> = { ci: 'quick', full: 'thesis' };

/**
 * The preset a notebook runs: `chosen` (edited in the notebook) unless the environment overrides it for
 * CI: EFFLAB_PRESET or PTLOSS_PRESET names one, PTLOSS_QUICK=1 means quick. Aliases: ci → quick, full → thesis.
 */
export function choosePreset(chosen: string, env: Record<string, string | undefined> = {}): PresetName {
  const raw = env.EFFLAB_PRESET ?? env.PTLOSS_PRESET ?? (env.PTLOSS_QUICK === '1' ? 'quick' : chosen);
  const name = ALIASES[raw] ?? raw;
  if (!(name in PRESETS)) {
    throw new ConfigError(
      `choosePreset: unknown preset '${raw}' (choose ${Object.keys(PRESETS).join(', ')}; aliases ci, full)`,
    );
  }
  return name as PresetName;
}

/** The experiment settings of a preset (a copy: editing it does not change the preset). */
export function presetSettings(name: PresetName): ExperimentSettings {
  const s = PRESETS[name];
  if (!s) throw new ConfigError(`presetSettings: unknown preset '${String(name)}'`);
  return { ...s, seeds: [...s.seeds], teacherSizes: [...s.teacherSizes], box: [s.box[0], s.box[1]] };
}

export interface StudentResult {
  loss: string;
  testAccuracy: number;
  /** Epoch whose weights were evaluated. */
  keptEpoch: number;
}

export interface TeacherResult {
  trainSize: number;
  testAccuracy: number;
  /** Mean ‖pᵗ − p*‖₂ on the test split. */
  l2ToPStar: number;
  /** The same for the proxy teacher of the selected coefficients. */
  proxyL2ToPStar: number;
  bestQuality: number;
  bestCoefficients: number[][];
  /** Unsolved (trial, example) pairs over the whole search, and the trials they touched. */
  searchUnsolved: number;
  searchTrialsAffected: number;
  /** Trials eligible under the failure policy, of all trials. */
  searchEligible: number;
  /** Perturbation order of the selected coefficients. */
  bestOrder: number;
  proxyUnsolved: number;
  students: StudentResult[];
}

export interface ProxySample {
  trial: number;
  order: number;
  quality: number;
  l2ToPStar: number;
  studentAccuracy: number;
  unsolved: number;
}

export interface SeedResult {
  seed: number;
  bayesTestAccuracy: number;
  onehot: StudentResult;
  teachers: TeacherResult[];
  proxySamples: ProxySample[];
  /** Pearson r between proxy distance and student accuracy over the samples. */
  proxyCorrelation: number;
  seconds: number;
}

export type Progress = (message: string) => void;

/** Floor probabilities at 1e-12 and renormalise (the proxy needs pᵗ > 0; float32 logits can underflow). */
function floorProbs(p: Matrix64): Matrix64 {
  const [n, c] = p.shape;
  const out = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += out[i * c + j] = Math.max(p.data[i * c + j], 1e-12);
    for (let j = 0; j < c; j++) out[i * c + j] /= s;
  }
  return { data: out, shape: [n, c] };
}

/** Pearson correlation of two equal-length samples. */
export function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  if (n !== b.length || n < 2) return NaN;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

function distillLosses(s: ExperimentSettings, eps: Coefficients): DistillLoss[] {
  return [
    { kind: 'kl' },
    { kind: 'temperature', tau: s.tau },
    { kind: 'label-smoothing', delta: s.delta },
    { kind: 'focal', gamma: s.gamma },
    { kind: 'eskd', patience: s.eskdPatience },
    { kind: 'ptloss', eps },
  ];
}

/** Run the whole protocol for one seed. */
export function runSeed(seed: number, s: ExperimentSettings, progress: Progress = () => {}): SeedResult {
  const t0 = performance.now();
  const data: GaussianData = makeGaussianData(seed, {
    classes: 3,
    dim: 30,
    sigma: 2,
    points: s.points,
    split: [0.9, 0.05, 0.05],
  });
  const nTrain = data.train.y.length;
  for (const size of s.teacherSizes) {
    if (!Number.isInteger(size) || size < 1 || size > nTrain) {
      throw new ValueError(`runSeed: teacher size ${size} must be an integer in [1, ${nTrain}]`);
    }
  }
  if (s.proxyTeacher < 0 || s.proxyTeacher >= s.teacherSizes.length) {
    throw new ValueError(
      `runSeed: proxyTeacher ${s.proxyTeacher} is not one of the ${s.teacherSizes.length} teachers`,
    );
  }
  const val = { x: data.val.x, labels: data.val.y };
  const train = (loss: DistillLoss, teacher: Matrix64 | undefined, salt: number): StudentResult => {
    const r = trainStudent({ x: data.train.x, labels: data.train.y, teacher }, loss, {
      epochs: s.studentEpochs,
      seed: seed * 1000 + salt,
      val,
    });
    return {
      loss: lossName(loss),
      testAccuracy: accuracy(predictProbs(r.model, data.test.x), data.test.y),
      keptEpoch: r.keptEpoch,
    };
  };
  progress(`seed ${seed}: one-hot student`);
  const onehot = train({ kind: 'onehot' }, undefined, 1);
  const teachers: TeacherResult[] = [];
  let proxySamples: ProxySample[] = [];
  s.teacherSizes.forEach((size, ti) => {
    progress(`seed ${seed}: teacher ${ti} on ${size} examples`);
    const d = data.train.x.shape[1];
    const sub = {
      x: { data: data.train.x.data.slice(0, size * d), shape: [size, d] as [number, number] },
      labels: data.train.y.slice(0, size),
    };
    const tm = trainStudent(
      sub,
      { kind: 'onehot' },
      { epochs: s.teacherEpochs, seed: seed * 1000 + 100 + ti },
    ).model;
    const pTrain = floorProbs(predictProbs(tm, data.train.x));
    const pVal = floorProbs(predictProbs(tm, data.val.x));
    const pTest = floorProbs(predictProbs(tm, data.test.x));
    const search = searchCoefficients(pVal, data.val.y, {
      maxOrder: s.maxOrder,
      trialsPerOrder: s.trialsPerOrder,
      box: s.box,
      seed: seed * 1000 + 200 + ti,
      minSolvedFraction: s.minSolvedFraction,
    });
    if (!search.best) {
      const fs = search.failureSummary;
      throw new ValueError(
        `runSeed: no eligible coefficients for seed ${seed}, teacher ${ti}: ${fs.trialsAffected} of ${search.trace.length} trials solved fewer than ${(100 * (s.minSolvedFraction ?? DEFAULT_MIN_SOLVED_FRACTION)).toFixed(1)}% of the ${pVal.shape[0]} validation examples (${fs.pairs} unsolved pairs; examples most affected: ${fs.examples
          .slice(0, 5)
          .map((e) => `${e.example} (${e.trials} trials)`)
          .join(', ')})`,
      );
    }
    const eps = search.best.coefficients;
    const proxyTest = solveProxy(pTest, eps);
    const students: StudentResult[] = [];
    distillLosses(s, eps).forEach((loss, li) => {
      progress(`seed ${seed}: teacher ${ti}: ${lossName(loss)}`);
      students.push(train(loss, pTrain, 10 + ti * 10 + li));
    });
    teachers.push({
      trainSize: size,
      testAccuracy: accuracy(pTest, data.test.y),
      l2ToPStar: meanL2Distance(pTest, data.test.pStar),
      proxyL2ToPStar: meanL2Distance(proxyTest.probs, data.test.pStar),
      bestQuality: search.best.quality,
      bestCoefficients: coefficientRows(eps),
      searchUnsolved: search.failures.length,
      searchTrialsAffected: search.failureSummary.trialsAffected,
      searchEligible: search.eligibleTrials,
      bestOrder: search.best.order,
      proxyUnsolved: proxyTest.failures.length,
      students,
    });
    if (ti === s.proxyTeacher)
      proxySamples = sampleProxies(search.trace, s, seed, pTrain, pTest, data, (msg) => progress(msg), train);
  });
  const proxyCorrelation = pearson(
    proxySamples.map((p) => p.l2ToPStar),
    proxySamples.map((p) => p.studentAccuracy),
  );
  return {
    seed,
    bayesTestAccuracy: accuracy(data.test.pStar, data.test.y),
    onehot,
    teachers,
    proxySamples,
    proxyCorrelation,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Fig. 4.3b: proxies at evenly spaced stages of the search, each with its own PTLoss student. */
function sampleProxies(
  trace: TrialRecord[],
  s: ExperimentSettings,
  seed: number,
  pTrain: Matrix64,
  pTest: Matrix64,
  data: GaussianData,
  progress: Progress,
  train: (loss: DistillLoss, teacher: Matrix64 | undefined, salt: number) => StudentResult,
): ProxySample[] {
  const picks = new Set<number>();
  for (let i = 0; i < s.proxies; i++)
    picks.add(Math.round((i * (trace.length - 1)) / Math.max(1, s.proxies - 1)));
  const out: ProxySample[] = [];
  [...picks].forEach((idx, k) => {
    const rec = trace[idx];
    progress(`seed ${seed}: proxy sample ${k + 1}/${picks.size} (trial ${idx})`);
    const proxy = solveProxy(pTest, rec.coefficients);
    const student = train({ kind: 'ptloss', eps: rec.coefficients }, pTrain, 500 + k);
    out.push({
      trial: idx,
      order: rec.order,
      quality: rec.quality,
      l2ToPStar: meanL2Distance(proxy.probs, data.test.pStar),
      studentAccuracy: student.testAccuracy,
      unsolved: proxy.failures.length + rec.unsolved,
    });
  });
  return out;
}

export interface SummaryRow {
  /** Teacher index (−1 for the one-hot student). */
  teacher: number;
  loss: string;
  mean: number;
  std: number;
  values: number[];
}

/** Mean and sample standard deviation over seeds of each (teacher, loss) test accuracy. */
export function summarize(results: readonly SeedResult[]): SummaryRow[] {
  const stats = (values: number[]): { mean: number; std: number } => {
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std =
      values.length > 1
        ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1))
        : 0;
    return { mean, std };
  };
  const rows: SummaryRow[] = [];
  const oh = results.map((r) => r.onehot.testAccuracy);
  rows.push({ teacher: -1, loss: results[0]?.onehot.loss ?? 'One-hot', ...stats(oh), values: oh });
  results[0]?.teachers.forEach((t, ti) => {
    const tv = results.map((r) => r.teachers[ti].testAccuracy);
    rows.push({ teacher: ti, loss: `Teacher (${t.trainSize} examples)`, ...stats(tv), values: tv });
    t.students.forEach((st, si) => {
      const v = results.map((r) => r.teachers[ti].students[si].testAccuracy);
      rows.push({ teacher: ti, loss: st.loss, ...stats(v), values: v });
    });
  });
  return rows;
}
