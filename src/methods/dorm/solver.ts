/**
 * Algorithm 1 (thesis §3.4.3): alternating first-order steps on the proxy u (line 3), the reward head θ
 * (line 4) and the data weights w (line 5), with per-example weights or per-source weights (a softmax over
 * sources, as in the authors' code), a pull toward the prior weights w⁰ (β), a live log and a stated
 * recovery from divergence: a step that makes θ, u or w non-finite is undone and every learning rate halved.
 */
import { ConfigError, NonFiniteError, ShapeError, ValueError } from '../../errors';
import type { OptimizerState, StatefulOptimizer } from '../../train';
import { createHead, type HeadConfig, type RewardHead } from './head';
import { LagrangianWorkspace } from './step';
import { auroc, meanWhere, sourceShares } from './metrics';
import { dormOptimizer, type OptimizerName } from './optim';
import { Rng } from './rng';
import type { PairSet } from './task';

export type Weighting = 'example' | 'source';

/** What the tracker is fed every `logEvery` steps. */
export interface WeightSnapshot {
  step: number;
  /** Share of the total weight per source (sums to 1). */
  shares: number[];
  /** Current per-row weights of the training set. */
  weights: Float64Array;
  /** AUROC of low weight for flagging flipped pairs (P(w_flipped < w_clean)); NaN without flips. */
  auroc: number;
  meanClean: number;
  meanFlipped: number;
  valLoss: number;
}

export interface RejectedStep {
  step: number;
  reason: string;
  /** Learning rates after halving. */
  lrTheta: number;
  lrProxy: number;
  lrWeights: number;
}

export interface BilevelOptions {
  /** Passes over the training set (default 20); steps = epochs × ⌈n / batchSize⌉ unless `steps` is set. */
  epochs?: number;
  steps?: number;
  batchSize?: number;
  valBatchSize?: number;
  /** α of Eq. 3.10 (default 10, app. I.3). */
  alpha?: number;
  /** β of Eq. 3.7 (default 1, app. I.3; with a mean training loss, see the module note). Infinity holds w = w⁰. */
  beta?: number;
  /**
   * Adam learning rates of θ and u (default 3e-3 each). App. I.3 uses 3e-6 to fine-tune a 12B model; a
   * freshly initialised head of ~25k parameters needs a thousand times more to train in 20 epochs.
   */
  lrTheta?: number;
  lrProxy?: number;
  /** η_w (default 5 per example, 0.05 per source; see the notebook for how they were chosen). */
  lrWeights?: number;
  optimizer?: OptimizerName;
  weighting?: Weighting;
  /** Prior weights w⁰ per training row (mean 1); none means "bilevel without prior" (target 1, β = 0). */
  prior?: ArrayLike<number>;
  /** Start w uniform (default, app. I.3) or at the prior. */
  init?: 'uniform' | 'prior';
  /** Control: keep w = 1 throughout (θ still gets the validation term). */
  freezeWeights?: boolean;
  /** θ₀ (u₀ = θ₀, app. I.3); a fresh head from `seed` otherwise. */
  initParams?: Float64Array;
  seed?: number;
  /** Apply dropout in the training steps (default true). */
  dropout?: boolean;
  logEvery?: number;
  onLog?: (s: WeightSnapshot) => void;
  /** Give up after this many rejected steps in a row (default 8). */
  maxRejects?: number;
}

export interface BilevelResult {
  head: RewardHead;
  theta: Float64Array;
  proxy: Float64Array;
  /** Final per-row weights of the training set. */
  weights: Float64Array;
  /** Per-source weights S·softmax(z) (weighting 'source'). */
  sourceWeights?: number[];
  history: WeightSnapshot[];
  rejected: RejectedStep[];
  steps: number;
  status: 'done' | 'diverged';
  message: string;
}

/** Whether every entry is finite (x · 0 is NaN exactly for NaN and ±∞: one multiply-add per entry). */
function allFinite(x: ArrayLike<number>): boolean {
  let z = 0;
  for (let i = 0; i < x.length; i++) z += x[i] * 0;
  return z === 0;
}

/** Whether w is finite at `rows` (the only weights a step changes). */
function rowsFinite(w: Float64Array, rows: Int32Array): boolean {
  let z = 0;
  for (let i = 0; i < rows.length; i++) z += w[rows[i]] * 0;
  return z === 0;
}

/** Runs Algorithm 1 on `train` with `validation` as the upper-level data. */
export function runBilevel(
  config: HeadConfig,
  train: PairSet,
  validation: PairSet,
  sources: number,
  opts: BilevelOptions = {},
): BilevelResult {
  const n = train.n;
  if (n === 0) throw new ValueError('bilevel: no training pairs');
  if (validation.n === 0) throw new ValueError('bilevel: no validation pairs');
  for (let s = 0; s < sources; s++) {
    if (!train.source.some((v) => v === s)) throw new ValueError(`bilevel: source ${s} has no training rows`);
  }
  const bs = Math.min(opts.batchSize ?? 64, n);
  const vbs = Math.min(opts.valBatchSize ?? 64, validation.n);
  const steps = opts.steps ?? (opts.epochs ?? 20) * Math.ceil(n / bs);
  const alpha = opts.alpha ?? 10;
  const hasPrior = opts.prior !== undefined;
  const beta = hasPrior ? (opts.beta ?? 1) : 0;
  if (!(alpha > 0)) throw new ConfigError(`bilevel: α must be > 0, got ${alpha}`);
  if (!(beta >= 0)) throw new ConfigError(`bilevel: β must be ≥ 0, got ${beta}`);
  let lrT = opts.lrTheta ?? 3e-3;
  let lrU = opts.lrProxy ?? 3e-3;
  const weighting = opts.weighting ?? 'example';
  let lrW = opts.lrWeights ?? (weighting === 'example' ? 5 : 0.05);
  if (weighting !== 'example' && weighting !== 'source')
    throw new ConfigError(`bilevel: unknown weighting "${String(weighting)}" (example, source)`);
  if (hasPrior && opts.prior!.length !== n)
    throw new ShapeError(`bilevel: ${opts.prior!.length} prior weights for ${n} training pairs`);
  const seed = opts.seed ?? 0;
  const head = createHead(config, seed);
  const theta = opts.initParams ? Float64Array.from(opts.initParams) : head.params;
  const proxy = Float64Array.from(theta);
  const optT = dormOptimizer(opts.optimizer ?? 'adam', theta.length, lrT);
  const optU = dormOptimizer(opts.optimizer ?? 'adam', theta.length, lrU);

  // Per-row prior targets; per source the target is S × the source's share of the prior mass.
  const prior = new Float64Array(n).fill(1);
  let srcPrior: number[] = new Array<number>(sources).fill(1);
  if (hasPrior) {
    const p = opts.prior!;
    if (weighting === 'example') for (let i = 0; i < n; i++) prior[i] = p[i];
    else {
      srcPrior = sourceShares(p, train.source, sources).map((x) => x * sources);
      for (let i = 0; i < n; i++) prior[i] = srcPrior[train.source[i]];
    }
  }
  // Weights: per row (example) or logits z per source with w_s = S softmax(z)_s.
  const freeze = opts.freezeWeights ?? false;
  const startAtPrior = (opts.init ?? 'uniform') === 'prior' || (hasPrior && beta === Infinity);
  const w = new Float64Array(n).fill(1);
  if (startAtPrior && !freeze) w.set(prior);
  const z = srcPrior.map((x) => (startAtPrior && !freeze ? Math.log(Math.max(x, 1e-300)) : 0));
  const srcWeights = (): number[] => {
    const mx = Math.max(...z);
    const e = z.map((v) => Math.exp(v - mx));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => (sources * v) / s);
  };
  const rowWeights = (): Float64Array => {
    if (weighting === 'example') return Float64Array.from(w);
    const ws = srcWeights();
    return Float64Array.from(train.source, (s) => ws[s]);
  };

  const history: WeightSnapshot[] = [];
  const logEvery = opts.logEvery ?? Math.max(1, Math.ceil(n / bs));
  let lastVal = NaN;
  const log = (step: number): void => {
    const weights = rowWeights();
    const snap: WeightSnapshot = {
      step,
      shares: sourceShares(weights, train.source, sources),
      weights,
      auroc: auroc(
        Float64Array.from(weights, (x) => -x),
        train.flipped,
      ),
      meanClean: meanWhere(weights, train.flipped, 0),
      meanFlipped: meanWhere(weights, train.flipped, 1),
      valLoss: lastVal,
    };
    history.push(snap);
    opts.onLog?.(snap);
  };

  const rng = new Rng(seed + 17);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  let cursor = n;
  const rejected: RejectedStep[] = [];
  let streak = 0;
  let status: 'done' | 'diverged' = 'done';
  let message = `${steps} steps`;
  // Everything a step writes is preallocated once: the batch, its weights, the saved state, the scaled
  // proxy gradient, and the workspace of the fused L_α evaluation (step.ts).
  const ws = new LagrangianWorkspace(head.config);
  const valRows = new Int32Array(vbs);
  const wb = new Float64Array(bs);
  const pb = new Float64Array(bs);
  const gu = new Float64Array(theta.length);
  const saved = {
    theta: new Float64Array(theta.length),
    proxy: new Float64Array(theta.length),
    w: new Float64Array(bs),
    z: new Array<number>(sources).fill(0),
    optT: undefined as OptimizerState | undefined,
    optU: undefined as OptimizerState | undefined,
  };
  log(0);
  let t = 0;
  while (t < steps) {
    if (cursor + bs > n) {
      rng.shuffle(order);
      cursor = 0;
    }
    const rows = order.subarray(cursor, cursor + bs);
    cursor += bs;
    for (let j = 0; j < vbs; j++) valRows[j] = rng.int(validation.n);
    if (weighting === 'example') for (let i = 0; i < bs; i++) wb[i] = w[rows[i]];
    else {
      const sw = srcWeights();
      for (let i = 0; i < bs; i++) wb[i] = sw[train.source[rows[i]]];
    }
    for (let i = 0; i < bs; i++) pb[i] = prior[rows[i]];
    const parts = ws.evaluate({
      head,
      theta,
      proxy,
      train,
      validation,
      trainRows: rows,
      weights: wb,
      prior: pb,
      valRows,
      alpha,
      beta,
      dropoutSeed: opts.dropout === false ? undefined : seed * 100003 + t,
    });
    // Save what this step may change, to undo it if it diverges.
    saved.theta.set(theta);
    saved.proxy.set(proxy);
    for (let i = 0; i < bs; i++) saved.w[i] = w[rows[i]];
    for (let k = 0; k < sources; k++) saved.z[k] = z[k];
    saved.optT = optT.saveState(saved.optT);
    saved.optU = optU.saveState(saved.optU);
    // Line 3: u ← u − α η_u ∇_u L_tr(w, u).
    const gp = parts.gradProxyTrain;
    for (let k = 0; k < gu.length; k++) gu[k] = alpha * gp[k];
    // Line 4: θ ← θ − η_θ (∇L_val(θ) + α ∇_θ L_tr(w, θ)).
    // The trainer's optimisers refuse a non-finite gradient before updating (NonFiniteError): that step is
    // rejected below like one whose update is non-finite.
    let badGrad = '';
    const stepOrFlag = (opt: StatefulOptimizer, p: Float64Array, g: Float64Array, what: string): void => {
      if (badGrad) return;
      try {
        opt.step(p, g);
      } catch (e) {
        if (!(e instanceof NonFiniteError)) throw e;
        badGrad = what;
      }
    };
    stepOrFlag(optU, proxy, gu, 'u');
    stepOrFlag(optT, theta, parts.gradTheta, 'θ');
    // Line 5: w ← w − η_w (2β(w − w⁰) + α(∇_w L_tr(w, θ) − ∇_w L_tr(w, u))), all at step t.
    if (!freeze && !badGrad) {
      if (weighting === 'example') {
        if (beta === Infinity) for (let i = 0; i < bs; i++) w[rows[i]] = prior[rows[i]];
        else {
          const c = (lrW * 2 * beta) / bs;
          for (let i = 0; i < bs; i++) {
            const r = rows[i];
            const gAlpha = (alpha * (parts.lossTheta[i] - parts.lossProxy[i])) / bs;
            // The quadratic pull is stepped implicitly (proximal): exact for it and stable for any β.
            w[r] = Math.max(0, (w[r] - lrW * gAlpha + c * prior[r]) / (1 + c));
          }
        }
      } else if (beta !== Infinity) {
        const p = srcWeights().map((x) => x / sources);
        const gs = new Array<number>(sources).fill(0);
        for (let i = 0; i < bs; i++) gs[train.source[rows[i]]] += parts.gradWeights[i];
        const pg = p.reduce((a, pk, k) => a + pk * gs[k], 0);
        for (let k = 0; k < sources; k++) z[k] -= lrW * sources * p[k] * (gs[k] - pg);
      }
    }
    const bad = badGrad
      ? `the gradient of ${badGrad}`
      : !allFinite(theta)
        ? 'θ'
        : !allFinite(proxy)
          ? 'u'
          : !rowsFinite(w, rows) || !allFinite(z)
            ? 'w'
            : '';
    if (bad) {
      theta.set(saved.theta);
      proxy.set(saved.proxy);
      for (let i = 0; i < bs; i++) w[rows[i]] = saved.w[i];
      for (let k = 0; k < sources; k++) z[k] = saved.z[k];
      optT.restoreState(saved.optT);
      optU.restoreState(saved.optU);
      lrT /= 2;
      lrU /= 2;
      lrW /= 2;
      optT.settings.lr = lrT;
      optU.settings.lr = lrU;
      rejected.push({
        step: t,
        reason: `${bad} became non-finite`,
        lrTheta: lrT,
        lrProxy: lrU,
        lrWeights: lrW,
      });
      if (++streak > (opts.maxRejects ?? 8)) {
        status = 'diverged';
        message = `stopped at step ${t}: ${streak} steps in a row made ${bad} non-finite; learning rates now θ ${lrT}, u ${lrU}, w ${lrW}; the last finite state is returned`;
        break;
      }
      continue;
    }
    streak = 0;
    lastVal = parts.valLoss;
    t++;
    if (t % logEvery === 0 || t === steps) log(t);
  }
  if (status === 'done' && rejected.length)
    message = `${t} steps; ${rejected.length} rejected (non-finite), learning rates halved to θ ${lrT}, u ${lrU}, w ${lrW}`;
  head.params = theta;
  return {
    head,
    theta,
    proxy,
    weights: rowWeights(),
    sourceWeights: weighting === 'source' ? srcWeights() : undefined,
    history,
    rejected,
    steps: t,
    status,
    message,
  };
}
