/**
 * REFERENCE ONLY (tests): the implementation of this file before the fused step (src/methods/dorm/step.ts,
 * branch dormstep), unchanged but for imports and names, kept so tests/dorm/step.test.ts can check that the
 * optimised step computes the same thing.
 */
/**
 * DORM's regularised bilevel problem (Eq. 3.7) solved by the first-order method of Algorithm 1, which
 * minimises over (w, θ) and maximises over the proxy u the Lagrangian of Eq. 3.10:
 *   L_α(w, θ, u) = L_val(θ) + β Σ_i (w_i − w⁰_i)² + α (L_tr(w, θ) − L_tr(w, u)).
 * Mini-batch form used here (the training loss is a mean, so the regulariser is a mean too — β multiplies
 * the mean squared deviation, i.e. β/k on the thesis's sum over k examples; per example the balance
 * between α(ℓ_i(θ) − ℓ_i(u)) and 2β(w_i − w⁰_i) is then exactly the thesis's):
 *   L_α = mean_{j∈V} ℓ_j(θ) + β mean_{i∈B} (w_i − w⁰_i)² + α mean_{i∈B} w_i (ℓ_i(θ) − ℓ_i(u)).
 */
import { ShapeError, ValueError } from '../../../src/errors';
import { pairLosses, type DropoutKey, type PairSet, type RewardHead } from '../../../src/methods/dorm';

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

/** L_α and its gradients on one batch (Eqs. 3.8, 3.10); every gradient is checked by finite differences in the tests. */
export function lagrangianReference(x: LagrangianInput): LagrangianParts {
  const B = x.trainRows.length;
  const V = x.valRows.length;
  if (B === 0 || V === 0)
    throw new ValueError(`bilevel: empty batch (${B} training rows, ${V} validation rows)`);
  if (x.weights.length !== B || x.prior.length !== B)
    throw new ShapeError(
      `bilevel: ${x.weights.length} weights and ${x.prior.length} prior weights for ${B} rows`,
    );
  const P = x.theta.length;
  const keyT: DropoutKey | undefined =
    x.dropoutSeed === undefined ? undefined : { seed: x.dropoutSeed, stream: 0 };
  const keyV: DropoutKey | undefined =
    x.dropoutSeed === undefined ? undefined : { seed: x.dropoutSeed, stream: 1 };
  const gradTheta = new Float64Array(P);
  const gradProxyTrain = new Float64Array(P);
  const valCoef = new Float64Array(V).fill(1 / V);
  const lv = pairLosses(x.head, x.theta, x.validation, {
    rows: x.valRows,
    coef: valCoef,
    grad: gradTheta,
    dropout: keyV,
  });
  const coefT = Float64Array.from(x.weights, (w) => (x.alpha * w) / B);
  const lt = pairLosses(x.head, x.theta, x.train, {
    rows: x.trainRows,
    coef: coefT,
    grad: gradTheta,
    dropout: keyT,
  });
  const coefU = Float64Array.from(x.weights, (w) => w / B);
  const lu = pairLosses(x.head, x.proxy, x.train, {
    rows: x.trainRows,
    coef: coefU,
    grad: gradProxyTrain,
    dropout: keyT,
  });
  let valLoss = 0;
  lv.forEach((l) => (valLoss += l / V));
  let reg = 0;
  let gap = 0;
  const gradWeights = new Float64Array(B);
  const finiteBeta = Number.isFinite(x.beta);
  for (let i = 0; i < B; i++) {
    const dev = x.weights[i] - x.prior[i];
    if (finiteBeta) reg += (x.beta * dev * dev) / B;
    gap += (x.alpha * x.weights[i] * (lt[i] - lu[i])) / B;
    gradWeights[i] = ((finiteBeta ? 2 * x.beta * dev : 0) + x.alpha * (lt[i] - lu[i])) / B;
  }
  return {
    value: valLoss + reg + gap,
    valLoss,
    gradTheta,
    gradProxyTrain,
    gradWeights,
    lossTheta: lt,
    lossProxy: lu,
  };
}
