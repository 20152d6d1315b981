/**
 * The training loop: seeded minibatch shuffles, epochs, an optional validation score with early
 * stopping that RESTORES the parameters of the best validation epoch, step/epoch callbacks (for live
 * plots). Deterministic given the seed: the shuffle comes from `Rng(seed)` (one permutation array,
 * reshuffled every epoch) and step s (0-based, counted over the whole run) uses dropout key
 * (seed, s). `fit` runs synchronously; `fitAsync` is the same loop that awaits its callbacks and
 * yields to the event loop after every epoch, so live figures redraw while it trains.
 */
import { ConfigError, NonFiniteError } from '../errors';
import { exampleCount, subset, type Dataset } from './data';
import { lossAndGrad, type Reduction } from './grad';
import type { Loss } from './losses';
import type { Mlp } from './mlp';
import { makeOptimizer, type Optimizer, type OptimizerSpec } from './optim';
import { Rng } from './rng';

export interface StepInfo {
  epoch: number;
  /** 1-based step over the whole run. */
  step: number;
  /** Reduced loss of this minibatch (before the update). */
  loss: number;
  batchSize: number;
}

export interface EpochInfo {
  /** 1-based. */
  epoch: number;
  /** Mean over the epoch of the minibatch losses, weighted by batch size. */
  trainLoss: number;
  /** Validation score after this epoch, when `validate` is set. */
  valScore?: number;
  /** This epoch is the best so far (it is the one a restore would keep). */
  best: boolean;
  /** Wall time of the epoch (training and validation), seconds. */
  seconds: number;
}

/** Return `false` from `onEpoch` to stop after this epoch. */
export type EpochCallback = (info: EpochInfo, model: Mlp) => void | boolean | Promise<void | boolean>;

export interface FitOptions {
  epochs: number;
  /** Seeds the shuffle and the dropout masks. */
  seed: number;
  /** Default 32. The last batch of an epoch may be smaller. */
  batchSize?: number;
  /** Default Adam with PyTorch's defaults (lr 1e-3); or an optimiser to continue with. */
  optimizer?: OptimizerSpec | Optimizer;
  /** How per-example weights (`data.weights`) enter each batch loss (default 'mean', see grad.ts). */
  reduction?: Reduction;
  /** Shuffle every epoch (default true). */
  shuffle?: boolean;
  /** Validation score of the current model, computed after every epoch (e.g. accuracy on a held-out set). */
  validate?: (model: Mlp) => number;
  /** Default true (accuracy); false for a validation loss. */
  higherIsBetter?: boolean;
  /** Stop once this many epochs pass without a strictly better score (default: never stop early). */
  patience?: number;
  /** Put back the best-scoring epoch's parameters at the end (default true when `validate` is set). */
  restoreBest?: boolean;
  onStep?: (info: StepInfo) => void;
  onEpoch?: EpochCallback;
}

export interface FitResult {
  history: EpochInfo[];
  /** The epoch whose parameters the model holds at the end. */
  keptEpoch: number;
  /** Best validation score (NaN without `validate`). */
  bestScore: number;
  bestEpoch: number;
  /** Stopped before `epochs` by patience or by a callback. */
  stoppedEarly: boolean;
  steps: number;
  optimizer: Optimizer;
}

function isOptimizer(o: OptimizerSpec | Optimizer): o is Optimizer {
  return typeof (o as Optimizer).step === 'function';
}

/** The loop itself; yields each epoch's record and receives the callback's verdict. */
function* loop(
  model: Mlp,
  data: Dataset,
  loss: Loss,
  opts: FitOptions,
): Generator<EpochInfo, FitResult, void | boolean> {
  const n = exampleCount(data, 'fit data');
  const batch = opts.batchSize ?? 32;
  if (!Number.isInteger(opts.epochs) || opts.epochs < 0)
    throw new ConfigError(`fit: epochs ${opts.epochs} must be an integer ≥ 0`);
  if (!Number.isInteger(batch) || batch < 1)
    throw new ConfigError(`fit: batchSize ${batch} must be a positive integer`);
  if (!Number.isInteger(opts.seed)) throw new ConfigError(`fit: seed ${opts.seed} must be an integer`);
  if (n === 0) throw new ConfigError('fit: the training set has no examples');
  const patience = opts.patience ?? Infinity;
  if (!(patience >= 1)) throw new ConfigError(`fit: patience ${patience} must be ≥ 1`);
  const optimizer = opts.optimizer
    ? isOptimizer(opts.optimizer)
      ? opts.optimizer
      : makeOptimizer(opts.optimizer, model.size)
    : makeOptimizer({ kind: 'adam' }, model.size);
  const higher = opts.higherIsBetter ?? true;
  const restore = opts.validate !== undefined && (opts.restoreBest ?? true);
  const rng = new Rng(opts.seed);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const history: EpochInfo[] = [];
  let bestScore = NaN;
  let bestEpoch = 0;
  let bestParams: Float64Array | undefined;
  let steps = 0;
  let stoppedEarly = false;
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    const t0 = performance.now();
    if (opts.shuffle ?? true) rng.shuffle(order);
    let total = 0;
    for (let s = 0; s < n; s += batch) {
      const e = Math.min(n, s + batch);
      const b = subset(data, order.subarray(s, e));
      const r = lossAndGrad(model, b, loss, {
        reduction: opts.reduction,
        dropout: { seed: opts.seed, stream: steps },
      });
      if (!Number.isFinite(r.loss)) {
        throw new NonFiniteError(
          `fit: batch loss is ${r.loss} at epoch ${epoch}, step ${steps + 1}; the parameters are those before this step (lower the learning rate?)`,
        );
      }
      optimizer.step(model.params, r.grad);
      steps++;
      total += r.loss * (e - s);
      opts.onStep?.({ epoch, step: steps, loss: r.loss, batchSize: e - s });
    }
    let valScore: number | undefined;
    let best = false;
    if (opts.validate) {
      valScore = opts.validate(model);
      if (Number.isNaN(bestScore) || (higher ? valScore > bestScore : valScore < bestScore)) {
        bestScore = valScore;
        bestEpoch = epoch;
        if (restore) bestParams = Float64Array.from(model.params);
        best = true;
      }
    } else {
      bestEpoch = epoch;
      best = true;
    }
    const info: EpochInfo = {
      epoch,
      trainLoss: total / n,
      valScore,
      best,
      seconds: (performance.now() - t0) / 1000,
    };
    history.push(info);
    const verdict = yield info;
    if (verdict === false || (opts.validate && epoch - bestEpoch >= patience)) {
      stoppedEarly = epoch < opts.epochs;
      break;
    }
  }
  let keptEpoch = history.length;
  if (restore && bestParams) {
    model.params.set(bestParams);
    keptEpoch = bestEpoch;
  }
  return { history, keptEpoch, bestScore, bestEpoch, stoppedEarly, steps, optimizer };
}

/** Train `model` in place on `data` with `loss` (Eqs. 2.8, 2.10, 3.1, the Bradley–Terry loss, PTLoss's Eq. 4.7). */
export function fit(model: Mlp, data: Dataset, loss: Loss, opts: FitOptions): FitResult {
  const it = loop(model, data, loss, opts);
  let step = it.next();
  while (!step.done) {
    const verdict = opts.onEpoch?.(step.value, model);
    if (verdict instanceof Promise)
      throw new ConfigError('fit: onEpoch returned a Promise; use fitAsync for async callbacks');
    step = it.next(verdict);
  }
  return step.value;
}

/** `fit`, awaiting `onEpoch` and yielding to the event loop after every epoch (live plots redraw). */
export async function fitAsync(model: Mlp, data: Dataset, loss: Loss, opts: FitOptions): Promise<FitResult> {
  const it = loop(model, data, loss, opts);
  let step = it.next();
  while (!step.done) {
    const verdict = await opts.onEpoch?.(step.value, model);
    await new Promise<void>((resolve) => setImmediate(resolve));
    step = it.next(verdict);
  }
  return step.value;
}
