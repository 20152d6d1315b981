/**
 * Weighted reward-model training on fixed per-pair weights (Eq. 3.2): min_θ mean_i w_i ℓ_i(θ) by
 * mini-batch Adam with dropout. Uniform weights are the "SFT" baseline, the prior weights w⁰ "prior only".
 */
import { NonFiniteError, ShapeError, ValueError } from '../../errors';
import { createHead, pairLosses, type HeadConfig, type RewardHead } from './head';
import { makeOptimizer, type OptimizerName } from './optim';
import { Rng } from './rng';
import type { PairSet } from './task';

export interface TrainOptions {
  /** Passes over the data (default 20). */
  epochs?: number;
  /** Mini-batch size (default 64). */
  batchSize?: number;
  /** Adam learning rate (default 3e-3). */
  lr?: number;
  optimizer?: OptimizerName;
  seed?: number;
  /** Per-pair weights (default 1 for every pair). */
  weights?: ArrayLike<number>;
  /** Start from these parameters instead of a fresh head. */
  init?: Float64Array;
}

export interface TrainResult {
  head: RewardHead;
  params: Float64Array;
  /** Mean weighted training loss per epoch. */
  losses: number[];
}

/** Trains a head on `set` with fixed per-pair weights (Eq. 3.2). */
export function trainWeighted(config: HeadConfig, set: PairSet, opts: TrainOptions = {}): TrainResult {
  const epochs = opts.epochs ?? 20;
  const bs = opts.batchSize ?? 64;
  const lr = opts.lr ?? 3e-3;
  const seed = opts.seed ?? 0;
  if (set.n === 0) throw new ValueError('trainWeighted: no training pairs');
  const w = opts.weights;
  if (w && w.length !== set.n) throw new ShapeError(`trainWeighted: ${w.length} weights for ${set.n} pairs`);
  const head = createHead(config, seed);
  const params = opts.init ? Float64Array.from(opts.init) : head.params;
  const opt = makeOptimizer(opts.optimizer ?? 'adam', params.length);
  const rng = new Rng(seed + 1);
  const grad = new Float64Array(params.length);
  const order = Int32Array.from({ length: set.n }, (_, i) => i);
  const losses: number[] = [];
  for (let e = 0; e < epochs; e++) {
    rng.shuffle(order);
    let total = 0;
    for (let s = 0; s < set.n; s += bs) {
      const rows = order.subarray(s, Math.min(set.n, s + bs));
      const coef = Float64Array.from(rows, (r) => (w ? w[r] : 1) / rows.length);
      grad.fill(0);
      const l = pairLosses(head, params, set, { rows, coef, grad, rng });
      l.forEach((v, t) => (total += v * coef[t] * rows.length));
      opt.step(params, grad, lr);
    }
    const mean = total / set.n;
    if (!Number.isFinite(mean))
      throw new NonFiniteError(`trainWeighted: training loss is ${mean} in epoch ${e + 1}`);
    losses.push(mean);
  }
  head.params = params;
  return { head, params, losses };
}

/** Concatenates pair sets (e.g. training and validation data for the SFT and prior-only baselines). */
export function concatPairs(x: PairSet, y: PairSet): PairSet {
  if (x.dim !== y.dim) throw new ShapeError(`concatPairs: widths ${x.dim} and ${y.dim} differ`);
  const cat = <T extends Float32Array | Int32Array | Uint8Array>(p: T, q: T, make: (n: number) => T): T => {
    const o = make(p.length + q.length);
    o.set(p);
    o.set(q, p.length);
    return o;
  };
  const out: PairSet = {
    n: x.n + y.n,
    dim: x.dim,
    a: cat(x.a, y.a, (n) => new Float32Array(n)),
    b: cat(x.b, y.b, (n) => new Float32Array(n)),
    ids: cat(x.ids, y.ids, (n) => new Int32Array(n)),
    source: cat(x.source, y.source, (n) => new Int32Array(n)),
    flipped: cat(x.flipped, y.flipped, (n) => new Uint8Array(n)),
  };
  if (x.ratingsA && y.ratingsA && x.ratingsB && y.ratingsB && x.attributes === y.attributes) {
    out.attributes = x.attributes;
    out.ratingsA = cat(x.ratingsA, y.ratingsA, (n) => new Float32Array(n));
    out.ratingsB = cat(x.ratingsB, y.ratingsB, (n) => new Float32Array(n));
  }
  return out;
}
