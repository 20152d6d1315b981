/**
 * The fused evaluation of L_α (Eq. 3.10) and its gradients on one batch (Eqs. 3.8-3.10), the inner work of
 * every Algorithm 1 step, with buffers reused from step to step.
 *
 * The same maths as running the trainer's generic forward/backward three times (θ on the validation
 * batch, θ on the training batch, u on the training batch), organised so that nothing is done twice:
 * - the feature rows are gathered once per step into one reused block [val a; val b; train a; train b];
 * - θ sees the validation and training rows in ONE forward and ONE backward pass (its gradient is
 *   ∇L_val(θ) + α∇_θ L_tr(w, θ), a sum over both row sets), u sees the training rows (a view of the same
 *   block), so a step is two passes of five products each instead of three;
 * - the dropout masks are made once per step (θ and u share the training masks, as before) by the
 *   trainer's allocation-free generator, bit-identical to the ops reference masks;
 * - losses, output gradients and the bias / ReLU / mask work are single loops over reused buffers.
 * Every product goes through the trainer's `product` (the ops `matmul` in float32, so the one backend
 * switch governs it; plain float64 loops in float64). The result is the previous implementation's
 * (per-pass `pairLosses`) up to floating-point summation order (tests/dorm/step.test.ts).
 */
import { ConfigError, ShapeError, ValueError } from '../../errors';
import {
  checkDropoutKey,
  fillDropoutMask,
  logSigmoid,
  maskStream,
  product,
  sigmoidStable,
  type Vec,
} from '../../train';
import { paramCount, paramLayout, type HeadConfig } from './head';
import type { PairSet } from './task';
import type { LagrangianInput, LagrangianParts } from './bilevel';

type Layout = ReturnType<typeof paramLayout>;

const EMPTY32 = new Float32Array(0);

/**
 * Reusable buffers and the fused step for one head configuration (any batch sizes; buffers grow once).
 * The arrays of the returned parts belong to the workspace and are overwritten by the next `evaluate`.
 */
export class LagrangianWorkspace {
  readonly config: HeadConfig;
  private readonly f32: boolean;
  private readonly size: number;
  private readonly L: Layout;
  private readonly pT: Vec;
  private readonly pU: Vec;
  private readonly gradTheta: Float64Array;
  private readonly gradProxy: Float64Array;
  private B = -1;
  private V = -1;
  private X: Vec = EMPTY32;
  private hT: Vec = EMPTY32;
  private hU: Vec = EMPTY32;
  private dT: Vec = EMPTY32;
  private dU: Vec = EMPTY32;
  private mask = EMPTY32;
  private lossVal = new Float64Array(0);
  private lossT = new Float64Array(0);
  private lossU = new Float64Array(0);
  private gradW = new Float64Array(0);

  constructor(config: HeadConfig) {
    if (!(config.dropout >= 0 && config.dropout < 1))
      throw new ConfigError(`reward head: dropout ${config.dropout} not in [0, 1)`);
    this.config = { ...config };
    this.f32 = (config.precision ?? 'float32') === 'float32';
    this.size = paramCount(config);
    this.L = paramLayout(config);
    this.pT = this.vec(this.size);
    this.pU = this.vec(this.size);
    this.gradTheta = new Float64Array(this.size);
    this.gradProxy = new Float64Array(this.size);
  }

  private vec(n: number): Vec {
    return this.f32 ? new Float32Array(n) : new Float64Array(n);
  }

  private ensure(B: number, V: number): void {
    if (B === this.B && V === this.V) return;
    const { dim, hidden, outputs } = this.config;
    const R = 2 * V + 2 * B;
    this.X = this.vec(R * dim);
    this.hT = this.vec(R * hidden);
    this.hU = this.vec(2 * B * hidden);
    this.dT = this.vec(R * outputs);
    this.dU = this.vec(2 * B * outputs);
    this.mask = new Float32Array(R * hidden);
    this.lossVal = new Float64Array(V);
    this.lossT = new Float64Array(B);
    this.lossU = new Float64Array(B);
    this.gradW = new Float64Array(B);
    this.B = B;
    this.V = V;
  }

  /** L_α and its gradients on the batch of `x` (x.head's configuration must be this workspace's). */
  evaluate(x: LagrangianInput): LagrangianParts {
    const B = x.trainRows.length;
    const V = x.valRows.length;
    if (B === 0 || V === 0)
      throw new ValueError(`bilevel: empty batch (${B} training rows, ${V} validation rows)`);
    if (x.weights.length !== B || x.prior.length !== B)
      throw new ShapeError(
        `bilevel: ${x.weights.length} weights and ${x.prior.length} prior weights for ${B} rows`,
      );
    const c = this.config;
    const { dim: d, hidden: h } = c;
    const hc = x.head.config;
    if (
      hc.dim !== d ||
      hc.hidden !== h ||
      hc.outputs !== c.outputs ||
      hc.loss !== c.loss ||
      hc.dropout !== c.dropout ||
      (hc.precision ?? 'float32') !== (c.precision ?? 'float32')
    )
      throw new ConfigError('bilevel: the head does not have the configuration this workspace was built for');
    const lam = x.head.projection;
    if (c.loss === 'bt' && lam.length !== c.outputs)
      throw new ShapeError(`bilevel: projection λ has ${lam.length} entries, the head ${c.outputs} outputs`);
    if (x.theta.length !== this.size || x.proxy.length !== this.size)
      throw new ShapeError(
        `bilevel: θ has ${x.theta.length} and u ${x.proxy.length} values; the head has ${this.size} parameters`,
      );
    for (const [set, what] of [
      [x.train, 'training'],
      [x.validation, 'validation'],
    ] as const) {
      if (set.dim !== d)
        throw new ShapeError(`reward head: ${what} features have width ${set.dim}, the head expects ${d}`);
      if (c.loss === 'regression' && (!set.ratingsA || !set.ratingsB || set.attributes !== c.outputs))
        throw new ConfigError(
          `pairLosses: the regression loss needs ${c.outputs} ratings per response; this set has none`,
        );
    }
    const drop = x.dropoutSeed !== undefined && c.dropout > 0;
    if (x.dropoutSeed !== undefined) checkDropoutKey({ seed: x.dropoutSeed, stream: 1 });
    this.ensure(B, V);
    const X = this.X;
    gatherPairs(X, 0, x.validation, x.valRows, V, 'validation');
    gatherPairs(X, 2 * V * d, x.train, x.trainRows, B, 'training');
    this.pT.set(x.theta);
    this.pU.set(x.proxy);
    const mask = drop ? this.mask : undefined;
    if (drop) {
      const seed = x.dropoutSeed!;
      // The keys of the previous implementation: validation (seed, 1), training (seed, 0), first hidden layer.
      fillDropoutMask(this.mask, 0, 2 * V * h, c.dropout, seed, maskStream({ seed, stream: 1 }, 0));
      fillDropoutMask(this.mask, 2 * V * h, 2 * B * h, c.dropout, seed, maskStream({ seed, stream: 0 }, 0));
    }
    const R = 2 * V + 2 * B;
    const trainX = X.subarray(2 * V * d);
    const trainMask = mask?.subarray(2 * V * h);

    // θ: one pass over validation and training rows.
    const fT = this.forward(this.pT, X, R, mask, this.hT);
    const lossVal = this.lossVal;
    const lossT = this.lossT;
    const invV = 1 / V;
    this.pairTerms(fT.out, this.dT, 0, V, x.validation, x.valRows, () => invV, lossVal, lam);
    const { alpha, weights } = x;
    this.pairTerms(
      fT.out,
      this.dT,
      2 * V,
      B,
      x.train,
      x.trainRows,
      (i) => (alpha * weights[i]) / B,
      lossT,
      lam,
    );
    this.gradTheta.fill(0);
    this.backward(this.pT, X, R, this.hT, fT.pre, mask, this.dT, this.gradTheta);

    // u: the training rows with the same masks.
    const fU = this.forward(this.pU, trainX, 2 * B, trainMask, this.hU);
    const lossU = this.lossU;
    this.pairTerms(fU.out, this.dU, 0, B, x.train, x.trainRows, (i) => weights[i] / B, lossU, lam);
    this.gradProxy.fill(0);
    this.backward(this.pU, trainX, 2 * B, this.hU, fU.pre, trainMask, this.dU, this.gradProxy);

    let valLoss = 0;
    for (let i = 0; i < V; i++) valLoss += lossVal[i] / V;
    let reg = 0;
    let gap = 0;
    const gradWeights = this.gradW;
    const finiteBeta = Number.isFinite(x.beta);
    for (let i = 0; i < B; i++) {
      const dev = weights[i] - x.prior[i];
      if (finiteBeta) reg += (x.beta * dev * dev) / B;
      gap += (alpha * weights[i] * (lossT[i] - lossU[i])) / B;
      gradWeights[i] = ((finiteBeta ? 2 * x.beta * dev : 0) + alpha * (lossT[i] - lossU[i])) / B;
    }
    return {
      value: valLoss + reg + gap,
      valLoss,
      gradTheta: this.gradTheta,
      gradProxyTrain: this.gradProxy,
      gradWeights,
      lossTheta: lossT,
      lossProxy: lossU,
    };
  }

  /** x → ReLU(xW₁ + b₁) ⊙ mask → ·W₂ + b₂ on `rows` rows; H (post-mask activations) into `hid`. */
  private forward(p: Vec, X: Vec, rows: number, mask: Float32Array | undefined, hid: Vec) {
    const { dim: d, hidden: h, outputs: m } = this.config;
    const L = this.L;
    const prec = this.f32 ? 'float32' : 'float64';
    const pre = product(X.subarray(0, rows * d), [rows, d], p.subarray(L.w1, L.b1), [d, h], {}, prec);
    for (let r = 0, o = 0; r < rows; r++) for (let j = 0; j < h; j++, o++) pre[o] += p[L.b1 + j];
    const n = rows * h;
    if (mask) for (let i = 0; i < n; i++) hid[i] = pre[i] > 0 ? pre[i] * mask[i] : 0;
    else for (let i = 0; i < n; i++) hid[i] = pre[i] > 0 ? pre[i] : 0;
    const out = product(hid.subarray(0, n), [rows, h], p.subarray(L.w2, L.b2), [h, m], {}, prec);
    for (let r = 0, o = 0; r < rows; r++) for (let j = 0; j < m; j++, o++) out[o] += p[L.b2 + j];
    return { pre, out };
  }

  /**
   * Adds ∂/∂θ of Σ_rows δ·out into `into` (δ = coefficient-scaled output gradients): W₂, b₂, then back
   * through the mask and the ReLU to W₁, b₁. The input gradient is not needed (features are frozen).
   */
  private backward(
    p: Vec,
    X: Vec,
    rows: number,
    hid: Vec,
    pre: Vec,
    mask: Float32Array | undefined,
    delta: Vec,
    into: Float64Array,
  ): void {
    const { dim: d, hidden: h, outputs: m } = this.config;
    const L = this.L;
    const prec = this.f32 ? 'float32' : 'float64';
    const dv = delta.subarray(0, rows * m);
    const gW2 = product(hid.subarray(0, rows * h), [rows, h], dv, [rows, m], { transA: true }, prec);
    for (let k = 0; k < gW2.length; k++) into[L.w2 + k] += gW2[k];
    for (let r = 0, o = 0; r < rows; r++) for (let j = 0; j < m; j++, o++) into[L.b2 + j] += dv[o];
    const g = product(dv, [rows, m], p.subarray(L.w2, L.b2), [h, m], { transB: true }, prec);
    const n = rows * h;
    if (mask) for (let i = 0; i < n; i++) g[i] = pre[i] > 0 ? g[i] * mask[i] : 0;
    else for (let i = 0; i < n; i++) if (!(pre[i] > 0)) g[i] = 0;
    const gW1 = product(X.subarray(0, rows * d), [rows, d], g, [rows, h], { transA: true }, prec);
    for (let k = 0; k < gW1.length; k++) into[L.w1 + k] += gW1[k];
    for (let r = 0, o = 0; r < rows; r++) for (let j = 0; j < h; j++, o++) into[L.b1 + j] += g[o];
  }

  /**
   * Per-pair losses of `n` pairs whose outputs sit at rows first + i (a) and first + n + i (b), and their
   * coefficient-scaled output gradients into `delta` (Bradley–Terry with λ, or Eq. 3.1's regression).
   */
  private pairTerms(
    out: Vec,
    delta: Vec,
    first: number,
    n: number,
    set: PairSet,
    rows: ArrayLike<number>,
    coef: (i: number) => number,
    loss: Float64Array,
    lam: ArrayLike<number>,
  ): void {
    const m = this.config.outputs;
    if (this.config.loss === 'bt') {
      for (let i = 0; i < n; i++) {
        const a = (first + i) * m;
        const b = (first + n + i) * m;
        let dl = 0;
        for (let k = 0; k < m; k++) dl += lam[k] * (out[a + k] - out[b + k]);
        loss[i] = -logSigmoid(dl);
        const g = sigmoidStable(dl) - 1;
        const ci = coef(i);
        for (let k = 0; k < m; k++) {
          delta[a + k] = ci * (g * lam[k]);
          delta[b + k] = ci * (-g * lam[k]);
        }
      }
      return;
    }
    const ra = set.ratingsA!;
    const rb = set.ratingsB!;
    for (let i = 0; i < n; i++) {
      const a = (first + i) * m;
      const b = (first + n + i) * m;
      const r = rows[i] * m;
      const ci = coef(i);
      let l = 0;
      for (let o = 0; o < m; o++) {
        const ea = out[a + o] - ra[r + o];
        const eb = out[b + o] - rb[r + o];
        l += ea * ea + eb * eb;
        delta[a + o] = ci * (2 * ea);
        delta[b + o] = ci * (2 * eb);
      }
      loss[i] = l;
    }
  }
}

/** Rows `rows` of a pair set into X: the n `a` rows from `offset`, then the n `b` rows. */
function gatherPairs(
  X: Vec,
  offset: number,
  set: PairSet,
  rows: ArrayLike<number>,
  n: number,
  what: string,
): void {
  const d = set.dim;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    if (!(Number.isInteger(r) && r >= 0 && r < set.n))
      throw new ValueError(`bilevel: ${what} row ${r} is not in [0, ${set.n})`);
    X.set(set.a.subarray(r * d, r * d + d), offset + i * d);
    X.set(set.b.subarray(r * d, r * d + d), offset + (n + i) * d);
  }
}

/**
 * L_α and its gradients on one batch (Eqs. 3.8, 3.10); every gradient is checked by finite differences in the
 * tests. Fresh arrays (the solver calls the reusable `LagrangianWorkspace` itself, step.ts).
 */
export function lagrangian(x: LagrangianInput): LagrangianParts {
  const p = lagrangianWorkspace(x.head.config).evaluate(x);
  return {
    value: p.value,
    valLoss: p.valLoss,
    gradTheta: Float64Array.from(p.gradTheta),
    gradProxyTrain: Float64Array.from(p.gradProxyTrain),
    gradWeights: Float64Array.from(p.gradWeights),
    lossTheta: Float64Array.from(p.lossTheta),
    lossProxy: Float64Array.from(p.lossProxy),
  };
}

/** One workspace per head configuration for `lagrangian` (the solver keeps its own). */
const shared = new Map<string, LagrangianWorkspace>();

/** The shared workspace of a head configuration. */
export function lagrangianWorkspace(config: HeadConfig): LagrangianWorkspace {
  const k = `${config.dim}/${config.hidden}/${config.outputs}/${config.dropout}/${config.loss}/${config.precision ?? 'float32'}`;
  let w = shared.get(k);
  if (!w) {
    if (shared.size > 16) shared.clear();
    w = new LagrangianWorkspace(config);
    shared.set(k, w);
  }
  return w;
}
