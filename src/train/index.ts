/**
 * The one small-network trainer the chapters share: an MLP on the ops layer with flat parameters,
 * analytic gradients for the losses of PRBoost (Eqs. 2.8, 2.10), DORM (Bradley–Terry, Eq. 3.1,
 * MC dropout for Eq. 3.4) and PTLoss (Eq. 4.7 through a custom loss), per-example gradients, Adam/SGD,
 * and a seeded fit loop with early stopping that restores the best epoch.
 */
export * from './types';
export { Rng } from './rng';
export {
  Mlp,
  checkKey as checkDropoutKey,
  maskStream,
  type MlpOptions,
  type LayerParams,
  type DropoutKey,
  type ForwardTrace,
} from './mlp';
export { product, productInto, type IntoOptions, type ProductOptions } from './dense';
export { subset, exampleCount, stackInputs, type Dataset } from './data';
export {
  evaluateLoss,
  lossName,
  isPairwise,
  logSoftmaxRows,
  logSigmoid,
  sigmoid as sigmoidStable,
  type Loss,
  type CustomLoss,
  type LossValues,
} from './losses';
export {
  lossAndGrad,
  lossValue,
  perExampleGrads,
  reductionCoefficients,
  type Reduction,
  type GradOptions,
  type LossAndGrad,
  type PerExampleGrads,
} from './grad';
export * from './optim';
export * from './fit';
export * from './mc';
export * from './metrics';
export { finiteDifferences } from './check';
export { fillDropoutMask } from './dropout';
