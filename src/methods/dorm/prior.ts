/**
 * Prior weights from epistemic uncertainty and disagreement (thesis §3.4.1, Eqs. 3.4-3.6, app. J.2).
 * Predictions are the model's preference probability σ(r(a) − r(b)) with label 1 for pairwise heads, and
 * the projected rating difference λᵀ(out(a) − out(b)) against λᵀ(r_a − r_b) for regression heads.
 */
import { ConfigError, NonFiniteError, ShapeError, ValueError } from '../../errors';
import { mcDropout } from '../../train';
import {
  headModel,
  marginsFromOutputs,
  pairMargins,
  sigmoid,
  stackedPairs,
  type HeadConfig,
  type RewardHead,
} from './head';
import type { PairSet } from './task';
import { trainWeighted, type TrainOptions } from './train';

/** Eq. 3.4: u_i = (1/N) Σ_n (r̂_{i,n} − r̄_i)², from `passes[n][i]` (the population variance, 1/N not 1/(N−1)). */
export function uncertainty(passes: readonly ArrayLike<number>[]): Float64Array {
  const N = passes.length;
  if (N < 2) throw new ValueError(`uncertainty: needs at least 2 passes, got ${N}`);
  const n = passes[0].length;
  passes.forEach((p, k) => {
    if (p.length !== n)
      throw new ShapeError(`uncertainty: pass ${k} has ${p.length} predictions, pass 0 has ${n}`);
  });
  const u = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let mean = 0;
    for (let k = 0; k < N; k++) mean += passes[k][i];
    mean /= N;
    let v = 0;
    for (let k = 0; k < N; k++) v += (passes[k][i] - mean) ** 2;
    u[i] = v / N;
  }
  return u;
}

/**
 * Eq. 3.5: q_i = |r_i − r̄_i| / (max_n r̂_{i,n} − min_n r̂_{i,n}). Guard: the spread is floored at
 * `rangeFloor` (default 1e-6), so when every pass agrees (max = min) a matching label gives q = 0 and a
 * differing one a very large q (weight → 0, the text's "confident but disagrees" case) instead of 0/0.
 */
export function disagreement(
  passes: readonly ArrayLike<number>[],
  labels: ArrayLike<number>,
  rangeFloor = 1e-6,
): Float64Array {
  const N = passes.length;
  if (N < 1) throw new ValueError('disagreement: no passes');
  const n = labels.length;
  if (!(rangeFloor > 0)) throw new ValueError(`disagreement: rangeFloor must be > 0, got ${rangeFloor}`);
  const q = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let mean = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = 0; k < N; k++) {
      const p = passes[k][i];
      if (p === undefined) throw new ShapeError(`disagreement: pass ${k} has no prediction ${i}`);
      mean += p;
      if (p < lo) lo = p;
      if (p > hi) hi = p;
    }
    mean /= N;
    const gap = Math.abs(labels[i] - mean);
    q[i] = gap === 0 ? 0 : gap / Math.max(hi - lo, rangeFloor);
  }
  return q;
}

/** Eq. 3.6: w⁰_i = exp(u_i − γ q_i), γ > 0. */
export function priorFromMeasures(u: ArrayLike<number>, q: ArrayLike<number>, gamma = 1): Float64Array {
  if (!(gamma > 0)) throw new ValueError(`prior weights: γ must be > 0, got ${gamma}`);
  if (u.length !== q.length) throw new ShapeError(`prior weights: ${u.length} values of u, ${q.length} of q`);
  return Float64Array.from(u, (ui, i) => {
    const w = Math.exp(ui - gamma * q[i]);
    if (Number.isNaN(w)) throw new NonFiniteError(`prior weights: w⁰_${i} is NaN (u = ${ui}, q = ${q[i]})`);
    return w;
  });
}

/** Rescales weights to mean 1 (a constant factor: it keeps their order and the effective learning rate). */
export function normalizeMean(w: ArrayLike<number>): Float64Array {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i];
  if (!(s > 0) || !Number.isFinite(s)) throw new NonFiniteError(`normalizeMean: weights sum to ${s}`);
  return Float64Array.from(w, (x) => (x * w.length) / s);
}

export type PriorMethod = 'mc-dropout' | 'ensemble' | 'sigmoid';

export interface PriorOptions {
  method?: PriorMethod;
  /** MC-dropout passes N (default 20) or ensemble members (default 5). */
  passes?: number;
  /** γ of Eq. 3.6 (default 1). */
  gamma?: number;
  seed?: number;
  rangeFloor?: number;
  /** Training options of the ensemble members (method 'ensemble'). */
  train?: TrainOptions;
}

export interface PriorWeights {
  method: PriorMethod;
  passes: number;
  dropout: number;
  gamma: number;
  u: Float64Array;
  q: Float64Array;
  /** exp(u − γq), unnormalised (Eq. 3.6). */
  w0: Float64Array;
  /** w⁰ rescaled to mean 1, the target the bilevel step pulls toward. */
  w0Normalized: Float64Array;
}

function labelsFor(head: RewardHead, set: PairSet): Float64Array {
  if (head.config.loss === 'bt') return new Float64Array(set.n).fill(1);
  const m = head.config.outputs;
  return Float64Array.from({ length: set.n }, (_, i) => {
    let d = 0;
    for (let o = 0; o < m; o++)
      d += head.projection[o] * (set.ratingsA![i * m + o] - set.ratingsB![i * m + o]);
    return d;
  });
}

function predictionsFrom(head: RewardHead, margins: Float64Array): Float64Array {
  return head.config.loss === 'bt' ? margins.map(sigmoid) : margins;
}

/**
 * The predictions the prior reads: N MC-dropout passes (dropout kept on) over every pair of `set`, by the
 * shared trainer's `mcDropout` (pass k uses the dropout keys (seed + 31337, k·chunks + chunk)).
 */
export function mcDropoutPasses(
  head: RewardHead,
  params: Float64Array,
  set: PairSet,
  passes: number,
  seed = 0,
): Float64Array[] {
  if (!(head.config.dropout > 0))
    throw new ConfigError(
      'MC-dropout prior: the head has dropout 0, so every pass is the same; set a dropout rate',
    );
  const x = stackedPairs(set);
  const mc = mcDropout(headModel(head.config, params), x, { passes, seed: seed + 31337 });
  const per = 2 * set.n * head.config.outputs;
  return Array.from({ length: passes }, (_, k) =>
    predictionsFrom(head, marginsFromOutputs(head, mc.samples.subarray(k * per, (k + 1) * per), set.n)),
  );
}

/**
 * Prior weights for every pair of `set` (Eqs. 3.4-3.6) from a trained head: MC dropout (N passes of the
 * head with its dropout rate), an ensemble of independently seeded heads (app. J.2), or the sigmoid
 * variant (app. J.2; the thesis does not define it: here one deterministic pass, u = p(1 − p) the
 * Bernoulli variance of the predicted probability and q = |1 − p|, whose natural range is 1).
 */
export function priorWeights(
  head: RewardHead,
  params: Float64Array,
  set: PairSet,
  opts: PriorOptions = {},
): PriorWeights {
  const method = opts.method ?? 'mc-dropout';
  const gamma = opts.gamma ?? 1;
  const labels = labelsFor(head, set);
  let u: Float64Array;
  let q: Float64Array;
  let passes: number;
  if (method === 'mc-dropout') {
    passes = opts.passes ?? 20;
    const p = mcDropoutPasses(head, params, set, passes, opts.seed ?? 0);
    u = uncertainty(p);
    q = disagreement(p, labels, opts.rangeFloor);
  } else if (method === 'ensemble') {
    passes = opts.passes ?? 5;
    const p = Array.from({ length: passes }, (_, k) => {
      const r = trainWeighted(head.config, set, { ...opts.train, seed: (opts.seed ?? 0) * 1000 + k });
      return predictionsFrom(head, pairMargins(r.head, r.params, set));
    });
    u = uncertainty(p);
    q = disagreement(p, labels, opts.rangeFloor);
  } else if (method === 'sigmoid') {
    if (head.config.loss !== 'bt') throw new ConfigError('the sigmoid prior needs a Bradley–Terry head');
    passes = 1;
    const p = predictionsFrom(head, pairMargins(head, params, set));
    u = p.map((x) => x * (1 - x));
    q = p.map((x) => Math.abs(1 - x));
  } else {
    throw new ConfigError(`unknown prior method "${String(method)}" (mc-dropout, ensemble, sigmoid)`);
  }
  const w0 = priorFromMeasures(u, q, gamma);
  return { method, passes, dropout: head.config.dropout, gamma, u, q, w0, w0Normalized: normalizeMean(w0) };
}

export type { HeadConfig };
