/**
 * DORM's regularised bilevel problem (Eq. 3.7) solved by the first-order method of Algorithm 1, which
 * minimises over (w, θ) and maximises over the proxy u the Lagrangian of Eq. 3.10:
 *   L_α(w, θ, u) = L_val(θ) + β Σ_i (w_i − w⁰_i)² + α (L_tr(w, θ) − L_tr(w, u)).
 * Mini-batch form used here (the training loss is a mean, so the regulariser is a mean too — β multiplies
 * the mean squared deviation, i.e. β/k on the thesis's sum over k examples; per example the balance
 * between α(ℓ_i(θ) − ℓ_i(u)) and 2β(w_i − w⁰_i) is then exactly the thesis's):
 *   L_α = mean_{j∈V} ℓ_j(θ) + β mean_{i∈B} (w_i − w⁰_i)² + α mean_{i∈B} w_i (ℓ_i(θ) − ℓ_i(u)).
 * Its evaluation (`lagrangian`, `LagrangianWorkspace`) is in step.ts.
 */
import type { RewardHead } from './head';
import type { PairSet } from './task';

export interface LagrangianInput {
  head: RewardHead;
  theta: Float64Array;
  proxy: Float64Array;
  train: PairSet;
  validation: PairSet;
  /** Training rows of the batch and the weights / prior weights of those rows. */
  trainRows: ArrayLike<number>;
  weights: ArrayLike<number>;
  prior: ArrayLike<number>;
  valRows: ArrayLike<number>;
  alpha: number;
  /** β; Infinity means the weights are held at the prior (the regulariser is then left out). */
  beta: number;
  /**
   * Seed of the dropout masks: the training batch uses the key (seed, 0) for both θ and u (the same masks),
   * the validation batch (seed, 1). No dropout when omitted.
   */
  dropoutSeed?: number;
}

export interface LagrangianParts {
  /** L_α of the batch. */
  value: number;
  valLoss: number;
  /** ∂L_α/∂θ = ∇L_val(θ) + α ∇_θ L_tr(w, θ). */
  gradTheta: Float64Array;
  /** ∇_u L_tr(w, u) (Algorithm 1 line 3 steps u along −α times this; ∂L_α/∂u = −α · this). */
  gradProxyTrain: Float64Array;
  /** ∂L_α/∂w_i for the batch rows (Eq. 3.8 plus the α term of Eq. 3.10). */
  gradWeights: Float64Array;
  lossTheta: Float64Array;
  lossProxy: Float64Array;
}
