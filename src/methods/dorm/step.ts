/**
 * The fused evaluation of L_α (Eq. 3.10) and its gradients on one batch (Eqs. 3.8-3.10), the inner work of
 * every Algorithm 1 step, with buffers reused from step to step.
 *
 * The same maths as running the trainer's generic forward/backward three times (θ on the validation
 * batch, θ on the training batch, u on the training batch), organised so that nothing is done twice:
 * - the feature rows are gathered once per step into one reused block [val a; val b; train a; train b];
 * - θ sees the validation and training rows in ONE forward and ONE backward pass (its gradient is
 *   ∇L_val(θ) + α∇_θ L_tr(w, θ), a sum over both row sets), and u rides in the same products (its
 *   weights stacked beside θ's), so a step is seven products instead of fifteen;
 * - the dropout masks are made once per step (θ and u share the training masks, as before) by the
 *   trainer's allocation-free generator, bit-identical to the ops reference masks;
 * - losses, output gradients and the bias / ReLU / mask work are single loops over reused buffers.
 * Every product goes through the trainer's `productInto` (in float32 the ops layer's GEMM on the selected
 * backend, into reused buffers: the one backend switch governs it; plain float64 loops in float64). The result is the previous implementation's
 * (per-pass `pairLosses`) up to floating-point summation order (tests/dorm/step.test.ts).
 */
import { ConfigError, NonFiniteError, ShapeError, ValueError } from '../../errors';
import {
  checkDropoutKey,
  fillDropoutMask,
  logSigmoid,
  maskStream,
  productInto,
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
 *
 * Layout (d = dim, h = hidden, m = outputs, R = 2B + 2V rows: training a, b, then validation a, b):
 * - X [R, d+1]: the features with a constant 1 appended, so each layer's bias rides in its product: in θ's
 *   layout W₁ [d, h] is followed by b₁ [h], i.e. [W₁; b₁] is one [d+1, h] block (and [W₂; b₂] one [h+1, m]);
 * - W₁ of θ and of u side by side, Wc [d+1, 2h] = [[W₁θ; b₁θ] | [W₁u; b₁u]]: the training rows times Wc give
 *   both nets' pre-activations, the validation rows times θ's half (a strided block of Wc) only θ's: Z [R, 2h],
 *   whose u half is not computed (and not read) on validation rows — the multiply-adds of PyTorch's passes;
 * - the second layers as one block-diagonal [2h+1, 2m] matrix on H = [ReLU(Z) ⊙ mask | 1] (u's half 0 on
 *   validation rows), outputs [R, 2m] (θ's m columns, then u's); one dropout mask [R, h] per row serves both
 *   nets (as before, θ and u share the training rows' masks);
 * - backward: δ [R, 2m] (u's columns zero on validation rows), ∇[W₂; b₂] = Hᵀδ, G = δ W₂ᵀ ⊙ mask ⊙ ReLU'(Z),
 *   ∇[W₁; b₁] = Xᵀ G [d+1, 2h] (training rows for both halves, validation rows added to θ's half), split
 *   into θ's and u's gradients.
 * Seven products per step (two of them the validation rows' share of a first-layer product).
 */
export class LagrangianWorkspace {
  readonly config: HeadConfig;
  private readonly f32: boolean;
  private readonly size: number;
  private readonly L: Layout;
  /** [W₁; b₁] of θ and u side by side, [d+1, 2h]. */
  private readonly W1: Vec;
  /** Block-diagonal [W₂; b₂] of θ and u, [2h+1, 2m] (the off-diagonal blocks stay 0). */
  private readonly W2: Vec;
  private readonly gradTheta: Float64Array;
  private readonly gradProxy: Float64Array;
  private B = -1;
  private V = -1;
  private X: Vec = EMPTY32;
  private H: Vec = EMPTY32;
  private delta: Vec = EMPTY32;
  private mask = EMPTY32;
  private Z: Vec = EMPTY32;
  private out: Vec = EMPTY32;
  private G: Vec = EMPTY32;
  private readonly gW1: Vec;
  private readonly gW2: Vec;
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
    const { dim: d, hidden: h, outputs: m } = config;
    this.W1 = this.vec((d + 1) * 2 * h);
    this.W2 = this.vec((2 * h + 1) * 2 * m);
    this.gW1 = this.vec((d + 1) * 2 * h);
    this.gW2 = this.vec((2 * h + 1) * 2 * m);
    this.gradTheta = new Float64Array(this.size);
    this.gradProxy = new Float64Array(this.size);
  }

  private vec(n: number): Vec {
    return this.f32 ? new Float32Array(n) : new Float64Array(n);
  }

  private ensure(B: number, V: number): void {
    if (B === this.B && V === this.V) return;
    const { dim: d, hidden: h, outputs: m } = this.config;
    const R = 2 * V + 2 * B;
    this.X = this.vec(R * (d + 1));
    for (let r = 0; r < R; r++) this.X[r * (d + 1) + d] = 1;
    this.H = this.vec(R * (2 * h + 1));
    for (let r = 0; r < R; r++) this.H[r * (2 * h + 1) + 2 * h] = 1;
    this.delta = this.vec(R * 2 * m);
    this.mask = new Float32Array(R * h);
    this.Z = this.vec(R * 2 * h);
    this.G = this.vec(R * 2 * h);
    this.out = this.vec(R * 2 * m);
    this.lossVal = new Float64Array(V);
    this.lossT = new Float64Array(B);
    this.lossU = new Float64Array(B);
    this.gradW = new Float64Array(B);
    this.B = B;
    this.V = V;
  }

  /**
   * θ and u into the stacked first layer and the block-diagonal second layer (in the workspace precision),
   * refusing non-finite parameters (the products no longer scan their operands).
   */
  private loadParams(theta: Float64Array, proxy: Float64Array): void {
    const { dim: d, hidden: h, outputs: m } = this.config;
    const { W1, W2, L } = this;
    const h2 = 2 * h;
    // Row d of each block is b₁ (it follows W₁ in θ's layout).
    let ok = stack(theta, proxy, W1, d + 1, h);
    const m2 = 2 * m;
    let z = 0;
    for (let j = 0; j < h; j++)
      for (let o = 0; o < m; o++) {
        const t = theta[L.w2 + j * m + o];
        const u = proxy[L.w2 + j * m + o];
        z += t * 0 + u * 0;
        W2[j * m2 + o] = t;
        W2[(h + j) * m2 + m + o] = u;
      }
    for (let o = 0; o < m; o++) {
      z += theta[L.b2 + o] * 0 + proxy[L.b2 + o] * 0;
      W2[h2 * m2 + o] = theta[L.b2 + o];
      W2[h2 * m2 + m + o] = proxy[L.b2 + o];
    }
    ok = ok && z === 0;
    if (!ok)
      for (const [v, what] of [
        [theta, 'θ'],
        [proxy, 'u'],
      ] as const) {
        const k = v.findIndex((x) => !Number.isFinite(x));
        if (k >= 0) throw new NonFiniteError(`bilevel: ${what}[${k}] = ${v[k]} is not finite`);
      }
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
    const { dim: d, hidden: h, outputs: m } = c;
    const hc = x.head.config;
    if (
      hc.dim !== d ||
      hc.hidden !== h ||
      hc.outputs !== m ||
      hc.loss !== c.loss ||
      hc.dropout !== c.dropout ||
      (hc.precision ?? 'float32') !== (c.precision ?? 'float32')
    )
      throw new ConfigError('bilevel: the head does not have the configuration this workspace was built for');
    const lam = x.head.projection;
    if (c.loss === 'bt' && lam.length !== m)
      throw new ShapeError(`bilevel: projection λ has ${lam.length} entries, the head ${m} outputs`);
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
      if (c.loss === 'regression' && (!set.ratingsA || !set.ratingsB || set.attributes !== m))
        throw new ConfigError(
          `pairLosses: the regression loss needs ${m} ratings per response; this set has none`,
        );
    }
    const drop = x.dropoutSeed !== undefined && c.dropout > 0;
    if (x.dropoutSeed !== undefined) checkDropoutKey({ seed: x.dropoutSeed, stream: 1 });
    this.ensure(B, V);
    const R = 2 * V + 2 * B;
    const h2 = 2 * h;
    const m2 = 2 * m;
    const { X, H, delta, W1, W2, L } = this;
    gatherPairs(X, 0, x.train, x.trainRows, B, 'training');
    gatherPairs(X, 2 * B, x.validation, x.valRows, V, 'validation');
    this.loadParams(x.theta, x.proxy);
    const mask = this.mask;
    if (drop) {
      const seed = x.dropoutSeed!;
      // The keys of the previous implementation: validation (seed, 1), training (seed, 0), first hidden
      // layer; u uses θ's mask of each row ([R, h]: one mask serves both halves of the row).
      fillDropoutMask(mask, 0, 2 * B * h, c.dropout, seed, maskStream({ seed, stream: 0 }, 0));
      fillDropoutMask(mask, 2 * B * h, 2 * V * h, c.dropout, seed, maskStream({ seed, stream: 1 }, 0));
    }
    const prec = this.f32 ? 'float32' : 'float64';

    // Forward: Z = [X | 1] Wc, H = [ReLU(Z) ⊙ mask | 1], out = H · blockdiag([W₂; b₂]).
    // Training rows through both nets, validation rows through θ's half of Wc only (into θ's half of Z).
    const T = 2 * B;
    const Z = this.Z;
    productInto(X.subarray(0, T * (d + 1)), [T, d + 1], W1, [d + 1, h2], {}, prec, Z);
    productInto(
      X.subarray(T * (d + 1)),
      [R - T, d + 1],
      W1,
      [d + 1, h],
      { ldb: h2, ldc: h2 },
      prec,
      Z.subarray(T * h2),
    );
    const hw = h2 + 1;
    reluMask(Z, H, drop ? mask : undefined, R, T, h);
    const out = productInto(H, [R, hw], W2, [hw, m2], {}, prec, this.out);

    // Losses and output gradients: θ on validation (1/V) and training rows (αw_i/B), u on training rows (w_i/B).
    const { alpha, weights } = x;
    const lossVal = this.lossVal;
    const lossT = this.lossT;
    const lossU = this.lossU;
    const invV = 1 / V;
    this.pairTerms(out, delta, T, 0, V, x.validation, x.valRows, () => invV, lossVal, lam);
    for (let r = T; r < R; r++) for (let o = 0; o < m; o++) delta[r * m2 + m + o] = 0;
    const coefT = (i: number): number => (alpha * weights[i]) / B;
    this.pairTerms(out, delta, 0, 0, B, x.train, x.trainRows, coefT, lossT, lam);
    const coefU = (i: number): number => weights[i] / B;
    this.pairTerms(out, delta, 0, m, B, x.train, x.trainRows, coefU, lossU, lam);

    // Backward: ∇[W₂; b₂] = Hᵀδ, G = δ W₂ᵀ ⊙ mask ⊙ ReLU'(Z), ∇[W₁; b₁] = [X | 1]ᵀ G.
    const gW2 = productInto(H, [R, hw], delta, [R, m2], { transA: true }, prec, this.gW2);
    const G = productInto(delta, [R, m2], W2.subarray(0, h2 * m2), [h2, m2], { transB: true }, prec, this.G);
    reluMaskGrad(G, Z, drop ? mask : undefined, R, h);
    // ∇[W₁; b₁]: the training rows for both nets, then the validation rows added to θ's half.
    const gW1 = this.gW1;
    productInto(
      X.subarray(0, T * (d + 1)),
      [T, d + 1],
      G.subarray(0, T * h2),
      [T, h2],
      { transA: true },
      prec,
      gW1,
    );
    productInto(
      X.subarray(T * (d + 1)),
      [R - T, d + 1],
      G.subarray(T * h2),
      [R - T, h],
      { transA: true, ldb: h2, ldc: h2, accumulate: true },
      prec,
      gW1,
    );
    const gT = this.gradTheta;
    const gU = this.gradProxy;
    unstack(gW1, gT, gU, d + 1, h);
    for (let j = 0; j < h; j++)
      for (let o = 0; o < m; o++) {
        gT[L.w2 + j * m + o] = gW2[j * m2 + o];
        gU[L.w2 + j * m + o] = gW2[(h + j) * m2 + m + o];
      }
    // ∇b₂ = Σ_rows δ, summed in float64 row by row rather than read from the product's constant row: for the
    // Bradley–Terry loss it is exactly 0 (each pair adds +c and −c), and a float32 residue there would let
    // Adam (which divides by √v) walk b₂ by ±lr every step.
    for (let o = 0; o < m; o++) {
      let st = 0;
      let su = 0;
      for (let r = 0; r < R; r++) {
        st += delta[r * m2 + o];
        su += delta[r * m2 + m + o];
      }
      gT[L.b2 + o] = st;
      gU[L.b2 + o] = su;
    }

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
      gradTheta: gT,
      gradProxyTrain: gU,
      gradWeights,
      lossTheta: lossT,
      lossProxy: lossU,
    };
  }

  /**
   * Per-pair losses of `n` pairs whose outputs sit in rows first + i (a) and first + n + i (b), columns
   * col … col + m of the [R, 2m] outputs, and their coefficient-scaled output gradients into the same
   * places of `delta` (Bradley–Terry with λ, or Eq. 3.1's regression on the rows' ratings).
   */
  private pairTerms(
    out: Vec,
    delta: Vec,
    first: number,
    col: number,
    n: number,
    set: PairSet,
    rows: ArrayLike<number>,
    coef: (i: number) => number,
    loss: Float64Array,
    lam: ArrayLike<number>,
  ): void {
    const m = this.config.outputs;
    const m2 = 2 * m;
    if (this.config.loss === 'bt') {
      for (let i = 0; i < n; i++) {
        const a = (first + i) * m2 + col;
        const b = (first + n + i) * m2 + col;
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
      const a = (first + i) * m2 + col;
      const b = (first + n + i) * m2 + col;
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

/**
 * H[r] = [ReLU(Z[r]) ⊙ mask[r] for θ's h columns and u's h columns | 1]: Z [R, 2h], H [R, 2h+1], mask [R, h];
 * rows from `uRows` on have no u half (validation rows: u's columns of H are 0 there).
 */
function reluMask(Z: Vec, H: Vec, mask: Float32Array | undefined, R: number, uRows: number, h: number): void {
  const h2 = 2 * h;
  const hw = h2 + 1;
  for (let r = 0; r < R; r++) {
    const zo = r * h2;
    const ho = r * hw;
    const withU = r < uRows;
    const mo = r * h;
    for (let j = 0; j < h; j++) {
      const mk = mask ? mask[mo + j] : 1;
      const zt = Z[zo + j];
      H[ho + j] = zt > 0 ? zt * mk : 0;
      const zu = withU ? Z[zo + h + j] : 0;
      H[ho + h + j] = zu > 0 ? zu * mk : 0;
    }
  }
}

/** G ← G ⊙ mask ⊙ ReLU'(Z) in place (G, Z [R, 2h]; the row's mask [h] serves both halves). */
function reluMaskGrad(G: Vec, Z: Vec, mask: Float32Array | undefined, R: number, h: number): void {
  const h2 = 2 * h;
  if (!mask) {
    for (let i = 0; i < R * h2; i++) if (!(Z[i] > 0)) G[i] = 0;
    return;
  }
  for (let r = 0; r < R; r++) {
    const zo = r * h2;
    const mo = r * h;
    for (let j = 0; j < h; j++) {
      const mk = mask[mo + j];
      G[zo + j] = Z[zo + j] > 0 ? G[zo + j] * mk : 0;
      G[zo + h + j] = Z[zo + h + j] > 0 ? G[zo + h + j] * mk : 0;
    }
  }
}

/** rows × h blocks of a and b side by side into s [rows, 2h]; false when a value is NaN or ±∞. */
function stack(a: Float64Array, b: Float64Array, s: Vec, rows: number, h: number): boolean {
  const h2 = 2 * h;
  let z = 0;
  for (let k = 0; k < rows; k++) {
    const src = k * h;
    const dst = k * h2;
    for (let j = 0; j < h; j++) {
      const x = a[src + j];
      const y = b[src + j];
      z += x * 0 + y * 0;
      s[dst + j] = x;
      s[dst + h + j] = y;
    }
  }
  return z === 0;
}

/** The inverse of `stack`: s [rows, 2h] into a and b (rows × h each). */
function unstack(s: Vec, a: Float64Array, b: Float64Array, rows: number, h: number): void {
  const h2 = 2 * h;
  for (let k = 0; k < rows; k++) {
    const dst = k * h;
    const src = k * h2;
    for (let j = 0; j < h; j++) {
      a[dst + j] = s[src + j];
      b[dst + j] = s[src + h + j];
    }
  }
}

/** Rows `rows` of a pair set into X [·, dim+1] from row `first`: the n `a` rows, then the n `b` rows. */
function gatherPairs(
  X: Vec,
  first: number,
  set: PairSet,
  rows: ArrayLike<number>,
  n: number,
  what: string,
): void {
  const d = set.dim;
  const w = d + 1;
  const A = set.a;
  const Bf = set.b;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    if (!(Number.isInteger(r) && r >= 0 && r < set.n))
      throw new ValueError(`bilevel: ${what} row ${r} is not in [0, ${set.n})`);
    const src = r * d;
    X.set(A.subarray(src, src + d), (first + i) * w);
    X.set(Bf.subarray(src, src + d), (first + n + i) * w);
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
