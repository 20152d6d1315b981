/**
 * Per-example losses on the network's outputs and their analytic gradients ∂ℓ_i/∂outputs.
 * Every loss returns each example's OWN unweighted loss ℓ_i and gradient; weighting and averaging
 * happen once, in `grad.ts` (see `Reduction`).
 *
 * - cross-entropy on hard labels (Eq. 2.8): ℓ_i = logsumexp(z_i) − z_{i,y_i}; ∂ℓ/∂z = p − onehot(y).
 * - soft cross-entropy to soft targets q: ℓ_i = −Σ_k q_k log p_k; ∂ℓ/∂z = p·Σq − q.
 * - KL(q ‖ p) (Eq. 2.10, PTLoss's KD, Eq. 4.3): ℓ_i = Σ_k q_k (log q_k − log p_k) (0·log 0 = 0);
 *   same gradient as soft cross-entropy (they differ by the targets' entropy, a constant).
 * - Bradley–Terry on pairs (reward model): ℓ_i = −log σ(Δ) = softplus(−Δ), Δ = r_chosen − r_rejected,
 *   r = z (one output) or r = λᵀz (m outputs, Eq. 3.1's projection λ); ∂ℓ/∂z_chosen = (σ(Δ) − 1)λ,
 *   ∂ℓ/∂z_rejected = (1 − σ(Δ))λ.
 * - squared error (Eq. 3.1): ℓ_i = ‖z_i − y_i‖²₂ (no ½); ∂ℓ/∂z = 2(z − y).
 * - custom: any loss supplying per-example values and output gradients (PTLoss's distillation losses).
 */
import { ShapeError } from '../ops';
import { ConfigError, ValueError } from '../errors';
import type { Dataset } from './data';
import type { Matrix64 } from './types';

export interface LossValues {
  /** ℓ_i per example, length n. */
  readonly perExample: Float64Array;
  /** ∂ℓ_i/∂(outputs of example i), laid out like the outputs ([rows, out]; BT: 2n rows). */
  readonly grad: Float64Array;
}

/** A loss the trainer does not know: it receives the batch outputs and the batch itself. */
export interface CustomLoss {
  readonly kind: 'custom';
  readonly name: string;
  /** Output rows per example: 1 (default) or 2 (pairs stacked as x then xRejected). */
  readonly rowsPerExample?: 1 | 2;
  evaluate(outputs: Matrix64, batch: Dataset): LossValues;
}

export type Loss =
  | { readonly kind: 'cross-entropy' }
  | { readonly kind: 'soft-cross-entropy' }
  | { readonly kind: 'kl' }
  | {
      readonly kind: 'bradley-terry';
      /** λ: the reward is r = λᵀz for a multi-attribute head with m outputs (Eq. 3.1's projection); default: one output, r = z. */
      readonly projection?: ArrayLike<number>;
    }
  | { readonly kind: 'squared-error' }
  | CustomLoss;

/** Short display name. */
export function lossName(loss: Loss): string {
  return loss.kind === 'custom' ? loss.name : loss.kind;
}

/** Whether the loss reads stacked (chosen, rejected) pairs. */
export function isPairwise(loss: Loss): boolean {
  return loss.kind === 'bradley-terry' || (loss.kind === 'custom' && loss.rowsPerExample === 2);
}

/** Row-wise log-softmax of z (max-shifted), into a fresh buffer. */
export function logSoftmaxRows(z: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) mx = Math.max(mx, z[i * cols + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(z[i * cols + j] - mx);
    const lse = mx + Math.log(s);
    for (let j = 0; j < cols; j++) out[i * cols + j] = z[i * cols + j] - lse;
  }
  return out;
}

/** log σ(x), stable for large |x| (Bradley–Terry: ℓ = −log σ(Δ)). */
export function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

/** σ(x), stable for large |x|. */
export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function needTargets(batch: Dataset, kind: string, cols: number): ArrayLike<number> {
  if (!batch.targets) throw new ConfigError(`loss '${kind}' needs targets [examples, ${cols}]`);
  if (batch.targets.shape[1] !== cols) {
    throw new ShapeError(`loss '${kind}': targets have ${batch.targets.shape[1]} columns, outputs ${cols}`);
  }
  return batch.targets.data;
}

/** Per-example losses and output gradients of a batch (see the module comment for each formula). */
export function evaluateLoss(loss: Loss, outputs: Matrix64, batch: Dataset): LossValues {
  const [rows, cols] = outputs.shape;
  const z = outputs.data;
  switch (loss.kind) {
    case 'cross-entropy': {
      if (!batch.labels) throw new ConfigError("loss 'cross-entropy' needs labels");
      const logp = logSoftmaxRows(z, rows, cols);
      const perExample = new Float64Array(rows);
      const grad = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) {
        const y = batch.labels[i];
        if (!Number.isInteger(y) || y < 0 || y >= cols) {
          throw new ValueError(
            `loss 'cross-entropy': label ${y} of example ${i} is not a class in [0, ${cols})`,
          );
        }
        perExample[i] = -logp[i * cols + y];
        for (let j = 0; j < cols; j++) grad[i * cols + j] = Math.exp(logp[i * cols + j]);
        grad[i * cols + y] -= 1;
      }
      return { perExample, grad };
    }
    case 'soft-cross-entropy':
    case 'kl': {
      const q = needTargets(batch, loss.kind, cols);
      const logp = logSoftmaxRows(z, rows, cols);
      const perExample = new Float64Array(rows);
      const grad = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) {
        let l = 0;
        let mass = 0;
        for (let j = 0; j < cols; j++) {
          const qj = q[i * cols + j];
          mass += qj;
          if (qj !== 0)
            l += loss.kind === 'kl' ? qj * (Math.log(qj) - logp[i * cols + j]) : -qj * logp[i * cols + j];
        }
        perExample[i] = l;
        for (let j = 0; j < cols; j++)
          grad[i * cols + j] = Math.exp(logp[i * cols + j]) * mass - q[i * cols + j];
      }
      return { perExample, grad };
    }
    case 'bradley-terry': {
      const lambda = loss.projection ?? [1];
      if (cols !== lambda.length) {
        throw new ShapeError(
          loss.projection
            ? `loss 'bradley-terry': projection λ has ${lambda.length} entries, the model has ${cols} outputs`
            : `loss 'bradley-terry' needs one output (the reward) or a projection λ, the model has ${cols} outputs`,
        );
      }
      if (rows % 2 !== 0) {
        throw new ShapeError(`loss 'bradley-terry': ${rows} output rows are not (chosen, rejected) pairs`);
      }
      const n = rows / 2;
      const perExample = new Float64Array(n);
      const grad = new Float64Array(rows * cols);
      for (let i = 0; i < n; i++) {
        let delta = 0;
        for (let k = 0; k < cols; k++) delta += lambda[k] * (z[i * cols + k] - z[(n + i) * cols + k]);
        perExample[i] = -logSigmoid(delta);
        const g = sigmoid(delta) - 1;
        for (let k = 0; k < cols; k++) {
          grad[i * cols + k] = g * lambda[k];
          grad[(n + i) * cols + k] = -g * lambda[k];
        }
      }
      return { perExample, grad };
    }
    case 'squared-error': {
      const y = needTargets(batch, loss.kind, cols);
      const perExample = new Float64Array(rows);
      const grad = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) {
        let l = 0;
        for (let j = 0; j < cols; j++) {
          const r = z[i * cols + j] - y[i * cols + j];
          l += r * r;
          grad[i * cols + j] = 2 * r;
        }
        perExample[i] = l;
      }
      return { perExample, grad };
    }
    case 'custom': {
      const v = loss.evaluate(outputs, batch);
      const n = rows / (loss.rowsPerExample ?? 1);
      if (v.perExample.length !== n || v.grad.length !== rows * cols) {
        throw new ShapeError(
          `custom loss '${loss.name}': ${v.perExample.length} values and ${v.grad.length} gradient entries for ${n} examples with ${rows}×${cols} outputs`,
        );
      }
      return v;
    }
  }
}
