/**
 * The reward head of DORM's small-scale setting, on the shared trainer (src/train): an MLP on frozen text
 * features, x → ReLU(xW₁ + b₁) → dropout → hW₂ + b₂ ∈ R^m, read as a scalar reward r(x) = λᵀ out(x) (m = 1,
 * λ = 1 for pairwise data; Eq. 3.1's multi-attribute head with its projection λ for rated data).
 * θ is the trainer's flat parameter vector (layer by layer, W [fanIn, fanOut] then b), so the bilevel solver
 * treats θ and the proxy u as plain vectors. Losses per pair, with gradients of any weighted sum of them:
 * - Bradley–Terry: ℓ = −log σ(r(a) − r(b)) for a preferred to b (the trainer's 'bradley-terry' loss);
 * - regression (Eq. 3.1): ℓ = ‖out(a) − r_a‖² + ‖out(b) − r_b‖² on the two responses' rating vectors.
 * Dropout masks are the trainer's counter-based ones, addressed by a `DropoutKey` (seed, stream).
 */
import { ConfigError, ShapeError } from '../../errors';
import {
  evaluateLoss,
  lossAndGrad,
  Mlp,
  type CustomLoss,
  type Dataset,
  type DropoutKey,
  type Loss,
  type LossValues,
  type Matrix64,
  type Precision,
} from '../../train';
import type { PairSet } from './task';
import { Rng } from './rng';

export type HeadLoss = 'bt' | 'regression';
export type { DropoutKey, Precision };

export interface HeadConfig {
  dim: number;
  hidden: number;
  /** Output attributes m (1 for Bradley–Terry). */
  outputs: number;
  /** Dropout rate on the hidden layer, in [0, 1). */
  dropout: number;
  loss: HeadLoss;
  /**
   * 'float32' (default): products through the ops layer's `matmul` (the trainer's production path);
   * 'float64': plain float64 loops, the precision the finite-difference tests use.
   */
  precision?: Precision;
}

/** A head: its configuration, the projection λ (length `outputs`) and parameters θ (trainer layout). */
export interface RewardHead {
  config: HeadConfig;
  projection: Float64Array;
  params: Float64Array;
}

/** Number of parameters of a head. */
export function paramCount(c: Pick<HeadConfig, 'dim' | 'hidden' | 'outputs'>): number {
  return c.hidden * c.dim + c.hidden + c.outputs * c.hidden + c.outputs;
}

/** Offsets of W₁ [dim, hidden], b₁, W₂ [hidden, outputs], b₂ in θ (the trainer's layout). */
export function paramLayout(c: Pick<HeadConfig, 'dim' | 'hidden' | 'outputs'>): {
  w1: number;
  b1: number;
  w2: number;
  b2: number;
} {
  const b1 = c.dim * c.hidden;
  const w2 = b1 + c.hidden;
  return { w1: 0, b1, w2, b2: w2 + c.hidden * c.outputs };
}

function checkConfig(config: HeadConfig): void {
  const { dropout } = config;
  if (!(dropout >= 0 && dropout < 1)) throw new ConfigError(`reward head: dropout ${dropout} not in [0, 1)`);
  if (config.loss !== 'bt' && config.loss !== 'regression')
    throw new ConfigError(`reward head: unknown loss "${String(config.loss)}" (bt, regression)`);
  if (config.loss === 'bt' && config.outputs !== 1)
    throw new ConfigError(`reward head: the Bradley–Terry loss needs outputs = 1, got ${config.outputs}`);
}

/**
 * A head with He-initialised W₁ (normal, variance 2/dim: the hidden layer is ReLU), W₂ normal with variance
 * 1/hidden and zero biases, from a seed. (DORM keeps this initialisation rather than the trainer's PyTorch
 * default: it is what its results were measured with.)
 */
export function createHead(config: HeadConfig, seed: number): RewardHead {
  checkConfig(config);
  const { dim, hidden, outputs } = config;
  const rng = new Rng(seed);
  const params = new Float64Array(paramCount(config));
  const L = paramLayout(config);
  const s1 = Math.sqrt(2 / dim);
  // Drawn hidden unit by hidden unit (j, then k), stored at W₁[k, j].
  for (let j = 0; j < hidden; j++)
    for (let k = 0; k < dim; k++) params[L.w1 + k * hidden + j] = s1 * rng.normal();
  const s2 = 1 / Math.sqrt(hidden);
  for (let o = 0; o < outputs; o++)
    for (let j = 0; j < hidden; j++) params[L.w2 + j * outputs + o] = s2 * rng.normal();
  return { config: { ...config }, projection: new Float64Array(outputs).fill(1), params };
}

/** One trainer model per (shape, dropout, precision); its parameters are overwritten on every use. */
const models = new Map<string, Mlp>();

/** The trainer's MLP for a head configuration, holding `params` (copied in). */
export function headModel(config: HeadConfig, params: ArrayLike<number>): Mlp {
  checkConfig(config);
  const precision = config.precision ?? 'float32';
  const k = `${config.dim}/${config.hidden}/${config.outputs}/${config.dropout}/${precision}`;
  let m = models.get(k);
  if (!m) {
    m = new Mlp({
      sizes: [config.dim, config.hidden, config.outputs],
      seed: 0,
      dropout: config.dropout,
      precision,
    });
    if (models.size > 16) models.clear();
    models.set(k, m);
  }
  if (params.length !== m.size)
    throw new ShapeError(`reward head: ${params.length} parameters, expected ${m.size}`);
  m.params.set(params);
  return m;
}

/** Eq. 3.1 on a pair: ℓ = ‖out(a) − r_a‖² + ‖out(b) − r_b‖², targets [n, 2m] = (r_a, r_b). */
const pairRegression: CustomLoss = {
  kind: 'custom',
  name: 'pair squared error (Eq. 3.1)',
  rowsPerExample: 2,
  evaluate(outputs: Matrix64, batch: Dataset): LossValues {
    const [rows, m] = outputs.shape;
    const n = rows / 2;
    const t = batch.targets;
    if (!t || t.shape[0] !== n || t.shape[1] !== 2 * m)
      throw new ShapeError(`regression loss: targets must be [${n}, ${2 * m}] (ratings of a, then of b)`);
    const z = outputs.data;
    const perExample = new Float64Array(n);
    const grad = new Float64Array(rows * m);
    for (let i = 0; i < n; i++) {
      let l = 0;
      for (let o = 0; o < m; o++) {
        const ea = z[i * m + o] - t.data[i * 2 * m + o];
        const eb = z[(n + i) * m + o] - t.data[i * 2 * m + m + o];
        l += ea * ea + eb * eb;
        grad[i * m + o] = 2 * ea;
        grad[(n + i) * m + o] = 2 * eb;
      }
      perExample[i] = l;
    }
    return { perExample, grad };
  },
};

/** The trainer loss of a head (Bradley–Terry with the head's λ, or Eq. 3.1's regression on pairs). */
export function headLoss(head: RewardHead): Loss {
  return head.config.loss === 'bt' ? { kind: 'bradley-terry', projection: head.projection } : pairRegression;
}

function allRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

function gather(src: Float32Array, width: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (let t = 0; t < rows.length; t++)
    out.set(src.subarray(rows[t] * width, (rows[t] + 1) * width), t * width);
  return out;
}

/**
 * Rows of a pair set as the trainer's dataset: x = a (preferred), xRejected = b, and for a regression head
 * targets [n, 2m] = (ratings of a, ratings of b).
 */
export function pairDataset(head: RewardHead, set: PairSet, rows?: ArrayLike<number>): Dataset {
  const c = head.config;
  if (set.dim !== c.dim)
    throw new ShapeError(`reward head: features have width ${set.dim}, the head expects ${c.dim}`);
  const rs = rows ?? allRows(set.n);
  const n = rs.length;
  let targets: Matrix64 | undefined;
  if (c.loss === 'regression') {
    const m = c.outputs;
    if (!set.ratingsA || !set.ratingsB || set.attributes !== m)
      throw new ConfigError(
        `pairLosses: the regression loss needs ${m} ratings per response; this set has none`,
      );
    const t = new Float64Array(n * 2 * m);
    for (let i = 0; i < n; i++) {
      const r = rs[i];
      for (let o = 0; o < m; o++) {
        t[i * 2 * m + o] = set.ratingsA[r * m + o];
        t[i * 2 * m + m + o] = set.ratingsB[r * m + o];
      }
    }
    targets = { data: t, shape: [n, 2 * m] };
  }
  return {
    x: { data: gather(set.a, c.dim, rs), shape: [n, c.dim] },
    xRejected: { data: gather(set.b, c.dim, rs), shape: [n, c.dim] },
    targets,
  };
}

export interface PairLossOptions {
  /** Rows of the set to use (default all). */
  rows?: ArrayLike<number>;
  /** When given, `grad += Σ_r coef[r] ∂ℓ_r/∂θ` (coef indexed like `rows`). */
  coef?: ArrayLike<number>;
  grad?: Float64Array;
  /** Dropout masks of this key (training / MC dropout); none (eval mode) when omitted. */
  dropout?: DropoutKey;
}

/** Per-pair losses ℓ_r(θ) of the head's loss on `rows` of `set` (and optionally their weighted gradient). */
export function pairLosses(
  head: RewardHead,
  params: Float64Array,
  set: PairSet,
  opts: PairLossOptions = {},
): Float64Array {
  const rows = opts.rows ?? allRows(set.n);
  const { grad, coef } = opts;
  if (grad && (!coef || coef.length !== rows.length))
    throw new ShapeError(`pairLosses: coef must have one value per row (${rows.length})`);
  const batch = pairDataset(head, set, rows);
  const model = headModel(head.config, params);
  const loss = headLoss(head);
  if (grad) {
    if (grad.length !== model.size)
      throw new ShapeError(
        `pairLosses: gradient buffer of ${grad.length} values for ${model.size} parameters`,
      );
    const r = lossAndGrad(model, batch, loss, { weights: coef, reduction: 'sum', dropout: opts.dropout });
    for (let k = 0; k < grad.length; k++) grad[k] += r.grad[k];
    return r.perExample;
  }
  const x = { data: concat(batch), shape: [2 * rows.length, head.config.dim] };
  const out = model.forward(x, { dropout: opts.dropout });
  return evaluateLoss(loss, out, batch).perExample;
}

function concat(batch: Dataset): Float32Array {
  const a = batch.x.data as Float32Array;
  const b = batch.xRejected!.data as Float32Array;
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** λᵀ(out(a) − out(b)) per pair from stacked outputs [2n, m] (a rows, then b rows). */
export function marginsFromOutputs(head: RewardHead, out: ArrayLike<number>, n: number): Float64Array {
  const m = head.config.outputs;
  const lam = head.projection;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let o = 0; o < m; o++) s += lam[o] * (out[i * m + o] - out[(n + i) * m + o]);
    d[i] = s;
  }
  return d;
}

/** The stacked inputs [a rows; b rows] ([2n, dim]) of `rows` of a pair set. */
export function stackedPairs(
  set: PairSet,
  rows?: ArrayLike<number>,
): { data: Float32Array; shape: [number, number] } {
  const rs = rows ?? allRows(set.n);
  const out = new Float32Array(2 * rs.length * set.dim);
  out.set(gather(set.a, set.dim, rs));
  out.set(gather(set.b, set.dim, rs), rs.length * set.dim);
  return { data: out, shape: [2 * rs.length, set.dim] };
}

/**
 * Reward margins r(a) − r(b) = λᵀ(out(a) − out(b)) on `rows`; with a dropout key, one MC-dropout pass.
 */
export function pairMargins(
  head: RewardHead,
  params: Float64Array,
  set: PairSet,
  rows?: ArrayLike<number>,
  dropout?: DropoutKey,
): Float64Array {
  if (set.dim !== head.config.dim)
    throw new ShapeError(`reward head: features have width ${set.dim}, the head expects ${head.config.dim}`);
  const x = stackedPairs(set, rows);
  const out = headModel(head.config, params).forward(x, { dropout });
  return marginsFromOutputs(head, out.data, x.shape[0] / 2);
}

/** Raw outputs out(x) (n × outputs) of the head for feature rows `x` (no dropout). */
export function headOutputs(head: RewardHead, params: Float64Array, x: Float32Array): Float64Array {
  const c = head.config;
  if (x.length % c.dim !== 0)
    throw new ShapeError(`headOutputs: ${x.length} values is not a multiple of ${c.dim}`);
  return headModel(c, params).forward({ data: x, shape: [x.length / c.dim, c.dim] }).data;
}

/** Pairwise accuracy: share of rows whose margin r(a) − r(b) is positive (a tie counts half). */
export function pairAccuracy(head: RewardHead, params: Float64Array, set: PairSet): number {
  const m = pairMargins(head, params, set);
  let ok = 0;
  m.forEach((d) => (ok += d > 0 ? 1 : d === 0 ? 0.5 : 0));
  return ok / set.n;
}

/** σ(z), stable for large |z|. */
export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/**
 * θ in PyTorch's `nn.Linear` layout: [W₁ (hidden × dim), b₁, W₂ (outputs × hidden), b₂] — the layout of the
 * safetensors export and of the PyTorch benchmark baseline (the trainer stores W as [fanIn, fanOut]).
 */
export function torchLayout(
  c: Pick<HeadConfig, 'dim' | 'hidden' | 'outputs'>,
  theta: ArrayLike<number>,
): Float64Array {
  const { dim, hidden, outputs } = c;
  if (theta.length !== paramCount(c))
    throw new ShapeError(`torchLayout: ${theta.length} values, the head has ${paramCount(c)} parameters`);
  const L = paramLayout(c);
  const out = new Float64Array(theta.length);
  let o = 0;
  for (let j = 0; j < hidden; j++) for (let k = 0; k < dim; k++) out[o++] = theta[L.w1 + k * hidden + j];
  for (let j = 0; j < hidden; j++) out[o++] = theta[L.b1 + j];
  for (let q = 0; q < outputs; q++) for (let j = 0; j < hidden; j++) out[o++] = theta[L.w2 + j * outputs + q];
  for (let q = 0; q < outputs; q++) out[o++] = theta[L.b2 + q];
  return out;
}
