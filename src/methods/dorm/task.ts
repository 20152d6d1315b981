/**
 * The data DORM works on (thesis ch. 3): a preference task as feature rows of the labelled-preferred and
 * the other response, and its fixed-seed split into a clean test set, a clean validation set and training
 * sources with injected label flips. The real (HH-RLHF) and the synthetic task share this type.
 */
import { NonFiniteError, NotFoundError, ShapeError, ValueError } from '../../errors';
import { permutation, Rng } from './rng';

/** Preference pairs as features: row i of `chosen` is preferred to row i of `rejected` by the data's label. */
export interface PreferenceTask {
  name: string;
  /** Feature width. */
  dim: number;
  /** Pair ids (HH-RLHF: row number in the file). */
  ids: Int32Array;
  /** n × dim, row-major. */
  chosen: Float32Array;
  rejected: Float32Array;
  /** Full-dialogue lengths, for the length baselines (real task). */
  chosenLength?: Int32Array;
  rejectedLength?: Int32Array;
  /** Synthetic task: multi-attribute ratings of each response (n × attributes) and the true projection. */
  attributes?: number;
  ratingsChosen?: Float32Array;
  ratingsRejected?: Float32Array;
  trueProjection?: Float64Array;
}

/** Pairs ready for a loss: `a` is the response treated as preferred (after any flip), `b` the other. */
export interface PairSet {
  n: number;
  dim: number;
  a: Float32Array;
  b: Float32Array;
  ids: Int32Array;
  /** Training source index per row (-1 outside training). */
  source: Int32Array;
  /** 1 where the label was flipped (reporting only; never read by the method). */
  flipped: Uint8Array;
  /** Ratings of `a` and `b` (n × attributes) when the task has them; flipped rows swap them too. */
  attributes?: number;
  ratingsA?: Float32Array;
  ratingsB?: Float32Array;
}

export interface SourceSpec {
  name: string;
  /** Share of the source's pairs whose label is flipped, in [0, 1). */
  flipRate: number;
}

/** The four sources of the issue: clean, 10 %, 25 % and 40 % flipped. */
export const DEFAULT_SOURCES: readonly SourceSpec[] = [
  { name: 'clean', flipRate: 0 },
  { name: 'flip10', flipRate: 0.1 },
  { name: 'flip25', flipRate: 0.25 },
  { name: 'flip40', flipRate: 0.4 },
];

export interface SplitOptions {
  seed?: number;
  /** Clean test share (default 0.2). */
  testFraction?: number;
  /** Clean validation share (default 0.07, the thesis's 3.5k/50k; 0.1 is the larger variant). */
  validationFraction?: number;
  sources?: readonly SourceSpec[];
}

export interface DormSplit {
  task: string;
  seed: number;
  sources: string[];
  flipRates: number[];
  train: PairSet;
  validation: PairSet;
  test: PairSet;
}

/** Throws NonFiniteError naming the pair and the response if any feature is NaN or infinite. */
export function checkTask(task: PreferenceTask): void {
  const n = task.ids.length;
  if (n === 0) throw new ValueError(`task ${task.name}: no pairs`);
  for (const [what, arr] of [
    ['chosen', task.chosen],
    ['rejected', task.rejected],
  ] as const) {
    if (arr.length !== n * task.dim) {
      throw new ShapeError(
        `task ${task.name}: ${what} has ${arr.length} values, expected ${n} × ${task.dim}`,
      );
    }
    for (let k = 0; k < arr.length; k++) {
      if (!Number.isFinite(arr[k])) {
        const row = Math.floor(k / task.dim);
        throw new NonFiniteError(
          `task ${task.name}: feature ${k % task.dim} of the ${what} response of pair id ${task.ids[row]} is ${arr[k]}`,
        );
      }
    }
  }
}

function rows(src: Float32Array, dim: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * dim);
  for (let r = 0; r < idx.length; r++) out.set(src.subarray(idx[r] * dim, (idx[r] + 1) * dim), r * dim);
  return out;
}

/** Pairs `idx` of a task, with flips applied where `flip[r]` is 1 and the given source per row. */
export function pairSet(
  task: PreferenceTask,
  idx: ArrayLike<number>,
  source?: Int32Array,
  flip?: Uint8Array,
): PairSet {
  const n = idx.length;
  const f = flip ?? new Uint8Array(n);
  const pick = (d: number, x: Float32Array, y: Float32Array): [Float32Array, Float32Array] => {
    const a = rows(x, d, idx);
    const b = rows(y, d, idx);
    for (let r = 0; r < n; r++) {
      if (!f[r]) continue;
      const t = a.slice(r * d, (r + 1) * d);
      a.set(b.subarray(r * d, (r + 1) * d), r * d);
      b.set(t, r * d);
    }
    return [a, b];
  };
  const [a, b] = pick(task.dim, task.chosen, task.rejected);
  const set: PairSet = {
    n,
    dim: task.dim,
    a,
    b,
    ids: Int32Array.from(idx, (i) => task.ids[i]),
    source: source ?? new Int32Array(n).fill(-1),
    flipped: f,
  };
  if (task.attributes && task.ratingsChosen && task.ratingsRejected) {
    const [ra, rb] = pick(task.attributes, task.ratingsChosen, task.ratingsRejected);
    set.attributes = task.attributes;
    set.ratingsA = ra;
    set.ratingsB = rb;
  }
  return set;
}

/**
 * Fixed-seed split: shuffle the pairs, take `testFraction` as the clean test set and `validationFraction`
 * as the clean validation set, and deal the rest round-robin into the sources; in each source exactly
 * round(flipRate × size) pairs, chosen at random, have chosen and rejected swapped (recorded in `flipped`).
 */
export function splitTask(task: PreferenceTask, opts: SplitOptions = {}): DormSplit {
  checkTask(task);
  const seed = opts.seed ?? 0;
  const testF = opts.testFraction ?? 0.2;
  const valF = opts.validationFraction ?? 0.07;
  const sources = opts.sources ?? DEFAULT_SOURCES;
  if (!(testF > 0 && valF > 0 && testF + valF < 1)) {
    throw new ValueError(
      `splitTask: test (${testF}) and validation (${valF}) shares must be > 0 and sum below 1`,
    );
  }
  if (sources.length === 0) throw new ValueError('splitTask: no sources');
  for (const s of sources) {
    if (!(s.flipRate >= 0 && s.flipRate < 1))
      throw new ValueError(`splitTask: source "${s.name}" has flip rate ${s.flipRate}, not in [0, 1)`);
  }
  const n = task.ids.length;
  const order = permutation(n, seed);
  const nTest = Math.round(testF * n);
  const nVal = Math.round(valF * n);
  if (nTest === 0 || nVal === 0)
    throw new ValueError(
      `splitTask: ${n} pairs leave ${nTest} for test and ${nVal} for validation; use more pairs`,
    );
  const trainIdx = order.subarray(nTest + nVal);
  const S = sources.length;
  const source = Int32Array.from(trainIdx, (_, r) => r % S);
  for (let s = 0; s < S; s++) {
    if (!source.some((v) => v === s)) {
      throw new ValueError(
        `splitTask: source "${sources[s].name}" gets no rows (${trainIdx.length} training pairs)`,
      );
    }
  }
  const flipped = new Uint8Array(trainIdx.length);
  const rng = new Rng(seed + 7919);
  for (let s = 0; s < S; s++) {
    const members: number[] = [];
    source.forEach((v, r) => v === s && members.push(r));
    rng.shuffle(members);
    const k = Math.round(sources[s].flipRate * members.length);
    for (let j = 0; j < k; j++) flipped[members[j]] = 1;
  }
  return {
    task: task.name,
    seed,
    sources: sources.map((s) => s.name),
    flipRates: sources.map((s) => s.flipRate),
    train: pairSet(task, trainIdx, source, flipped),
    validation: pairSet(task, order.subarray(nTest, nTest + nVal)),
    test: pairSet(task, order.subarray(0, nTest)),
  };
}

/** Index of a source by name; NotFoundError listing the known names otherwise. */
export function sourceIndex(split: { sources: readonly string[] }, name: string): number {
  const i = split.sources.indexOf(name);
  if (i < 0) throw new NotFoundError(`unknown source "${name}"; the sources are ${split.sources.join(', ')}`);
  return i;
}

/** The first `n` pairs of a seeded shuffle of the task (a quick-preset subset). */
export function subsetTask(task: PreferenceTask, n: number, seed = 0): PreferenceTask {
  const m = task.ids.length;
  if (!(Number.isInteger(n) && n > 0 && n <= m))
    throw new ValueError(`subsetTask: n = ${n} not in 1..${m} pairs`);
  const idx = Array.from(permutation(m, seed + 104729).subarray(0, n)).sort((x, y) => x - y);
  const pick = <T extends Float32Array | Int32Array>(x: T | undefined, d: number): T | undefined =>
    x ? (rows(x as Float32Array, d, idx) as unknown as T) : undefined;
  const out: PreferenceTask = {
    ...task,
    ids: Int32Array.from(idx, (i) => task.ids[i]),
    chosen: rows(task.chosen, task.dim, idx),
    rejected: rows(task.rejected, task.dim, idx),
  };
  if (task.chosenLength && task.rejectedLength) {
    out.chosenLength = Int32Array.from(idx, (i) => task.chosenLength![i]);
    out.rejectedLength = Int32Array.from(idx, (i) => task.rejectedLength![i]);
  }
  if (task.attributes) {
    out.ratingsChosen = pick(task.ratingsChosen, task.attributes);
    out.ratingsRejected = pick(task.ratingsRejected, task.attributes);
  }
  return out;
}
