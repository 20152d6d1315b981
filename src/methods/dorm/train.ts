/**
 * Weighted reward-model training on fixed per-pair weights (Eq. 3.2): min_θ mean_i w_i ℓ_i(θ) by
 * mini-batch Adam with dropout, through the shared trainer's `fit` (src/train). Uniform weights are the
 * "SFT" baseline, the prior weights w⁰ "prior only".
 */
import { ShapeError, ValueError } from '../../errors';
import { fit } from '../../train';
import { createHead, headLoss, headModel, pairDataset, type HeadConfig, type RewardHead } from './head';
import { dormOptimizer, type OptimizerName } from './optim';
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

/**
 * Trains a head on `set` with fixed per-pair weights (Eq. 3.2): the trainer's `fit` with the 'mean'
 * reduction (1/B) Σ w_i ℓ_i per batch, shuffles and dropout masks seeded from `seed + 1`.
 */
export function trainWeighted(config: HeadConfig, set: PairSet, opts: TrainOptions = {}): TrainResult {
  const seed = opts.seed ?? 0;
  if (set.n === 0) throw new ValueError('trainWeighted: no training pairs');
  const w = opts.weights;
  if (w && w.length !== set.n) throw new ShapeError(`trainWeighted: ${w.length} weights for ${set.n} pairs`);
  const head = createHead(config, seed);
  const init = opts.init ? Float64Array.from(opts.init) : head.params;
  const model = headModel(config, init);
  const data = { ...pairDataset(head, set), weights: w };
  const r = fit(model, data, headLoss(head), {
    epochs: opts.epochs ?? 20,
    batchSize: opts.batchSize ?? 64,
    seed: seed + 1,
    optimizer: dormOptimizer(opts.optimizer ?? 'adam', model.size, opts.lr ?? 3e-3),
    reduction: 'mean',
  });
  head.params = model.getParams();
  return { head, params: head.params, losses: r.history.map((e) => e.trainLoss) };
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
