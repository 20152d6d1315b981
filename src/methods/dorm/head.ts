/**
 * The reward head of DORM's small-scale setting: an MLP on frozen text features, x → ReLU(W₁x + b₁) →
 * dropout → W₂h + b₂ ∈ R^m, read as a scalar reward r(x) = λᵀ(W₂h + b₂) (m = 1, λ = 1 for pairwise data;
 * Eq. 3.1's multi-attribute head with its projection λ for rated data). Parameters live in one flat
 * Float64Array [W₁ (hidden × dim), b₁, W₂ (m × hidden), b₂] so the bilevel solver can treat θ and the proxy u
 * as plain vectors. Losses per pair, with gradients of any weighted sum of them:
 * - Bradley–Terry: ℓ = −log σ(r(a) − r(b)) for a preferred to b;
 * - regression (Eq. 3.1): ℓ = ‖out(a) − r_a‖² + ‖out(b) − r_b‖² on the two responses' rating vectors.
 * This is implemented here (float64, plain loops) because the shared trainer was not merged when DORM was
 * written; a head of this size (≈25k parameters) is overhead-bound either way.
 */
import { ConfigError, ShapeError } from '../../errors';
import type { PairSet } from './task';
import { Rng } from './rng';

export type HeadLoss = 'bt' | 'regression';

export interface HeadConfig {
  dim: number;
  hidden: number;
  /** Output attributes m (1 for Bradley–Terry). */
  outputs: number;
  /** Dropout rate on the hidden layer, in [0, 1). */
  dropout: number;
  loss: HeadLoss;
}

/** A head: its configuration, the projection λ (length `outputs`) and parameters. */
export interface RewardHead {
  config: HeadConfig;
  projection: Float64Array;
  params: Float64Array;
}

/** Number of parameters of a head. */
export function paramCount(c: Pick<HeadConfig, 'dim' | 'hidden' | 'outputs'>): number {
  return c.hidden * c.dim + c.hidden + c.outputs * c.hidden + c.outputs;
}

/** A head with He-initialised W₁, small W₂ and zero biases, from a seed. */
export function createHead(config: HeadConfig, seed: number): RewardHead {
  const { dim, hidden, outputs, dropout } = config;
  if (!(dropout >= 0 && dropout < 1)) throw new ConfigError(`reward head: dropout ${dropout} not in [0, 1)`);
  if (config.loss === 'bt' && outputs !== 1)
    throw new ConfigError(`reward head: the Bradley–Terry loss needs outputs = 1, got ${outputs}`);
  const rng = new Rng(seed);
  const params = new Float64Array(paramCount(config));
  const s1 = Math.sqrt(2 / dim);
  for (let k = 0; k < hidden * dim; k++) params[k] = s1 * rng.normal();
  const o2 = hidden * dim + hidden;
  const s2 = 1 / Math.sqrt(hidden);
  for (let k = 0; k < outputs * hidden; k++) params[o2 + k] = s2 * rng.normal();
  return { config: { ...config }, projection: new Float64Array(outputs).fill(1), params };
}

/** Scratch space for one response's forward/backward pass. */
interface Scratch {
  pre: Float64Array;
  act: Float64Array;
  mask: Float64Array;
  out: Float64Array;
}

function scratch(c: HeadConfig): Scratch {
  return {
    pre: new Float64Array(c.hidden),
    act: new Float64Array(c.hidden),
    mask: new Float64Array(c.hidden).fill(1),
    out: new Float64Array(c.outputs),
  };
}

/** Fills `s.mask` with inverted-dropout factors (0 or 1/(1−p)), or ones when `rng` is null. */
function sampleMask(s: Scratch, p: number, rng: Rng | null): void {
  if (!rng || p === 0) {
    s.mask.fill(1);
    return;
  }
  const keep = 1 / (1 - p);
  for (let j = 0; j < s.mask.length; j++) s.mask[j] = rng.next() < p ? 0 : keep;
}

function forward(c: HeadConfig, th: Float64Array, x: Float32Array, off: number, s: Scratch): void {
  const { dim, hidden, outputs } = c;
  const b1 = hidden * dim;
  for (let j = 0; j < hidden; j++) {
    let z = th[b1 + j];
    const w = j * dim;
    for (let k = 0; k < dim; k++) z += th[w + k] * x[off + k];
    s.pre[j] = z;
    s.act[j] = z > 0 ? z * s.mask[j] : 0;
  }
  const w2 = b1 + hidden;
  const b2 = w2 + outputs * hidden;
  for (let o = 0; o < outputs; o++) {
    let z = th[b2 + o];
    for (let j = 0; j < hidden; j++) z += th[w2 + o * hidden + j] * s.act[j];
    s.out[o] = z;
  }
}

/** Adds coef · ∂(gᵀ out)/∂θ to `grad`, where g = dOut (length outputs), for the last forward of `s`. */
function backward(
  c: HeadConfig,
  th: Float64Array,
  x: Float32Array,
  off: number,
  s: Scratch,
  dOut: Float64Array,
  grad: Float64Array,
): void {
  const { dim, hidden, outputs } = c;
  const b1 = hidden * dim;
  const w2 = b1 + hidden;
  const b2 = w2 + outputs * hidden;
  for (let o = 0; o < outputs; o++) {
    const g = dOut[o];
    if (g === 0) continue;
    grad[b2 + o] += g;
    for (let j = 0; j < hidden; j++) grad[w2 + o * hidden + j] += g * s.act[j];
  }
  for (let j = 0; j < hidden; j++) {
    if (s.pre[j] <= 0 || s.mask[j] === 0) continue;
    let dh = 0;
    for (let o = 0; o < outputs; o++) dh += th[w2 + o * hidden + j] * dOut[o];
    dh *= s.mask[j];
    if (dh === 0) continue;
    grad[b1 + j] += dh;
    const w = j * dim;
    for (let k = 0; k < dim; k++) grad[w + k] += dh * x[off + k];
  }
}

function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

export interface PairLossOptions {
  /** Rows of the set to use (default all). */
  rows?: ArrayLike<number>;
  /** When given, `grad += Σ_r coef[r] ∂ℓ_r/∂θ` (coef indexed like `rows`). */
  coef?: ArrayLike<number>;
  grad?: Float64Array;
  /** Dropout masks from this generator (training / MC dropout); none when omitted. */
  rng?: Rng;
}

/** Per-pair losses ℓ_r(θ) of the head's loss on `rows` of `set` (and optionally their weighted gradient). */
export function pairLosses(
  head: RewardHead,
  params: Float64Array,
  set: PairSet,
  opts: PairLossOptions = {},
): Float64Array {
  const c = head.config;
  if (set.dim !== c.dim)
    throw new ShapeError(`reward head: features have width ${set.dim}, the head expects ${c.dim}`);
  if (params.length !== paramCount(c))
    throw new ShapeError(`reward head: ${params.length} parameters, expected ${paramCount(c)}`);
  const rows = opts.rows ?? Int32Array.from({ length: set.n }, (_, i) => i);
  const { grad, coef } = opts;
  if (grad && (!coef || coef.length !== rows.length))
    throw new ShapeError(`pairLosses: coef must have one value per row (${rows.length})`);
  const m = c.outputs;
  if (c.loss === 'regression' && (!set.ratingsA || !set.ratingsB || set.attributes !== m)) {
    throw new ConfigError(
      `pairLosses: the regression loss needs ${m} ratings per response; this set has none`,
    );
  }
  const rng = opts.rng ?? null;
  const sa = scratch(c);
  const sb = scratch(c);
  const dA = new Float64Array(m);
  const dB = new Float64Array(m);
  const lam = head.projection;
  const out = new Float64Array(rows.length);
  for (let t = 0; t < rows.length; t++) {
    const r = rows[t];
    const off = r * c.dim;
    sampleMask(sa, c.dropout, rng);
    sampleMask(sb, c.dropout, rng);
    forward(c, params, set.a, off, sa);
    forward(c, params, set.b, off, sb);
    if (c.loss === 'bt') {
      const delta = lam[0] * (sa.out[0] - sb.out[0]);
      out[t] = softplus(-delta);
      if (grad) {
        const g = -sigmoid(-delta) * lam[0] * coef![t];
        dA[0] = g;
        dB[0] = -g;
      }
    } else {
      let l = 0;
      for (let o = 0; o < m; o++) {
        const ea = sa.out[o] - set.ratingsA![r * m + o];
        const eb = sb.out[o] - set.ratingsB![r * m + o];
        l += ea * ea + eb * eb;
        if (grad) {
          dA[o] = 2 * ea * coef![t];
          dB[o] = 2 * eb * coef![t];
        }
      }
      out[t] = l;
    }
    if (grad && coef![t] !== 0) {
      backward(c, params, set.a, off, sa, dA, grad);
      backward(c, params, set.b, off, sb, dB, grad);
    }
  }
  return out;
}

/**
 * Reward margins r(a) − r(b) = λᵀ(out(a) − out(b)) on `rows`; with `rng`, one MC-dropout pass (fresh masks).
 */
export function pairMargins(
  head: RewardHead,
  params: Float64Array,
  set: PairSet,
  rows?: ArrayLike<number>,
  rng?: Rng,
): Float64Array {
  const c = head.config;
  if (set.dim !== c.dim)
    throw new ShapeError(`reward head: features have width ${set.dim}, the head expects ${c.dim}`);
  const rs = rows ?? Int32Array.from({ length: set.n }, (_, i) => i);
  const sa = scratch(c);
  const sb = scratch(c);
  const out = new Float64Array(rs.length);
  for (let t = 0; t < rs.length; t++) {
    const off = rs[t] * c.dim;
    sampleMask(sa, c.dropout, rng ?? null);
    sampleMask(sb, c.dropout, rng ?? null);
    forward(c, params, set.a, off, sa);
    forward(c, params, set.b, off, sb);
    let d = 0;
    for (let o = 0; o < c.outputs; o++) d += head.projection[o] * (sa.out[o] - sb.out[o]);
    out[t] = d;
  }
  return out;
}

/** Raw outputs out(x) (n × outputs) of the head for feature rows `x` (no dropout). */
export function headOutputs(head: RewardHead, params: Float64Array, x: Float32Array): Float64Array {
  const c = head.config;
  if (x.length % c.dim !== 0)
    throw new ShapeError(`headOutputs: ${x.length} values is not a multiple of ${c.dim}`);
  const n = x.length / c.dim;
  const s = scratch(c);
  const out = new Float64Array(n * c.outputs);
  for (let i = 0; i < n; i++) {
    forward(c, params, x, i * c.dim, s);
    out.set(s.out, i * c.outputs);
  }
  return out;
}

/** Pairwise accuracy: share of rows whose margin r(a) − r(b) is positive (a tie counts half). */
export function pairAccuracy(head: RewardHead, params: Float64Array, set: PairSet): number {
  const m = pairMargins(head, params, set);
  let ok = 0;
  m.forEach((d) => (ok += d > 0 ? 1 : d === 0 ? 0.5 : 0));
  return ok / set.n;
}

export { sigmoid, softplus };
