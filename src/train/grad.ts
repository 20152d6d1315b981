/**
 * The batch loss, its gradient with respect to θ, and per-example gradients.
 *
 * Reduction (how per-example weights w_i enter; w_i = 1 when none are given):
 * - 'mean' (default): L = (1/n) Σ_i w_i ℓ_i — the UN-normalised weighted mean, divided by n, not by
 *   Σw (DORM's inner objective, Eq. 3.7, and plain averaging when w = 1);
 * - 'normalised': L = Σ_i w_i ℓ_i / Σ_i w_i;
 * - 'sum': L = Σ_i w_i ℓ_i.
 */
import { ShapeError } from '../ops';
import { ConfigError, NonFiniteError, ValueError } from '../errors';
import { exampleCount, stackInputs, type Dataset } from './data';
import { evaluateLoss, isPairwise, type Loss } from './losses';
import type { DropoutKey, ForwardTrace, Mlp } from './mlp';
import type { Matrix64 } from './types';

export type Reduction = 'mean' | 'normalised' | 'sum';

export interface GradOptions {
  /** Per-example weights (override `batch.weights`). */
  weights?: ArrayLike<number>;
  reduction?: Reduction;
  /** Dropout masks of this pass; without a key the pass runs in eval mode (no dropout). */
  dropout?: DropoutKey;
}

export interface LossAndGrad {
  /** L, the reduced batch loss. */
  loss: number;
  /** ∂L/∂θ, length P, in θ's layout. */
  grad: Float64Array;
  /** ℓ_i per example (unweighted). */
  perExample: Float64Array;
  /** Network outputs (BT: chosen rows, then rejected rows). */
  outputs: Matrix64;
}

/** c_i such that L = Σ_i c_i ℓ_i under the reduction. */
export function reductionCoefficients(
  n: number,
  weights: ArrayLike<number> | undefined,
  reduction: Reduction,
): Float64Array {
  if (weights && weights.length !== n)
    throw new ShapeError(`weights: ${weights.length} values for ${n} examples`);
  const c = new Float64Array(n);
  let sw = 0;
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[i] : 1;
    if (!Number.isFinite(w)) throw new NonFiniteError(`weights: example ${i} has weight ${w}`);
    c[i] = w;
    sw += w;
  }
  if (reduction === 'sum') return c;
  const denom = reduction === 'mean' ? n : sw;
  if (reduction !== 'mean' && reduction !== 'normalised') {
    throw new ConfigError(`reduction '${reduction}' is not one of mean, normalised, sum`);
  }
  if (!(denom !== 0))
    throw new ValueError(`reduction '${reduction}': divides by ${denom} (no examples or Σw = 0)`);
  for (let i = 0; i < n; i++) c[i] /= denom;
  return c;
}

interface Evaluated {
  n: number;
  trace: ForwardTrace;
  outputs: Matrix64;
  perExample: Float64Array;
  gradOut: Float64Array;
}

function evaluate(model: Mlp, batch: Dataset, loss: Loss, dropout: DropoutKey | undefined): Evaluated {
  const n = exampleCount(batch, 'batch');
  const { data, rows } = model.inputBuffer(stackInputs(batch, isPairwise(loss)));
  const trace = model.trace(data, rows, dropout);
  const outputs: Matrix64 = { data: Float64Array.from(trace.out), shape: [rows, model.outputSize] };
  const v = evaluateLoss(loss, outputs, batch);
  return { n, trace, outputs, perExample: v.perExample, gradOut: v.grad };
}

/** The reduced batch loss L alone (one forward pass). */
export function lossValue(model: Mlp, batch: Dataset, loss: Loss, opts: GradOptions = {}): number {
  const e = evaluate(model, batch, loss, opts.dropout);
  const c = reductionCoefficients(e.n, opts.weights ?? batch.weights, opts.reduction ?? 'mean');
  let L = 0;
  for (let i = 0; i < e.n; i++) L += c[i] * e.perExample[i];
  return L;
}

/** L and ∂L/∂θ for one batch: forward, loss, backward (gradient of the reduced, weighted loss). */
export function lossAndGrad(model: Mlp, batch: Dataset, loss: Loss, opts: GradOptions = {}): LossAndGrad {
  const e = evaluate(model, batch, loss, opts.dropout);
  const c = reductionCoefficients(e.n, opts.weights ?? batch.weights, opts.reduction ?? 'mean');
  let L = 0;
  for (let i = 0; i < e.n; i++) L += c[i] * e.perExample[i];
  const cols = model.outputSize;
  const scaled = new Float64Array(e.gradOut.length);
  for (let r = 0; r < e.trace.rows; r++) {
    const ci = c[r % e.n];
    for (let j = 0; j < cols; j++) scaled[r * cols + j] = ci * e.gradOut[r * cols + j];
  }
  const grad = new Float64Array(model.size);
  model.backward(e.trace, scaled, grad);
  return { loss: L, grad, perExample: e.perExample, outputs: e.outputs };
}

export interface PerExampleGrads {
  /** ∇θ ℓ_i of each example's own unweighted loss, row-major [n, P]. */
  grads: Float64Array;
  perExample: Float64Array;
  /** n */
  count: number;
  /** P */
  size: number;
}

/**
 * ∇θ ℓ_i for every example of the batch (n × P, meant for small heads): one forward and one
 * backward pass, then each example's outer products of its layer inputs and deltas. Unweighted, so
 * Σ_i c_i ∇θ ℓ_i is the batch gradient for any weights/reduction (c_i from `reductionCoefficients`);
 * DORM's first-order bilevel step needs ∇θ ℓ_i · ∇θ L_val.
 */
export function perExampleGrads(
  model: Mlp,
  batch: Dataset,
  loss: Loss,
  opts: { dropout?: DropoutKey } = {},
): PerExampleGrads {
  const e = evaluate(model, batch, loss, opts.dropout);
  const deltas = model.backward(e.trace, e.gradOut);
  const P = model.size;
  const grads = new Float64Array(e.n * P);
  model.layers.forEach((layer, l) => {
    const inp = e.trace.inputs[l];
    const d = deltas[l];
    const { fanIn, fanOut, offset } = layer;
    for (let r = 0; r < e.trace.rows; r++) {
      const base = (r % e.n) * P + offset;
      for (let i = 0; i < fanIn; i++) {
        const a = inp[r * fanIn + i];
        if (a === 0) continue;
        const o = base + i * fanOut;
        for (let j = 0; j < fanOut; j++) grads[o + j] += a * d[r * fanOut + j];
      }
      const ob = base + fanIn * fanOut;
      for (let j = 0; j < fanOut; j++) grads[ob + j] += d[r * fanOut + j];
    }
  });
  return { grads, perExample: e.perExample, count: e.n, size: P };
}
