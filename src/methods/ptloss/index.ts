/**
 * PTLoss (thesis chapter 4): the perturbed distillation loss, its links to other losses, the proxy
 * teacher, the coefficient search, and the distillation experiment on synthetic Gaussian data.
 */
export * from './coefficients';
export * from './matrix';
export * from './loss';
export * from './links';
export * from './stationarity';
export {
  DEFAULT_SOLVER,
  solveProxyReference,
  solveProxyGeneral,
  type SolverSettings,
  type RawSolve,
} from './proxy-reference';
export * from './proxy';
export * from './quality';
export * from './search';
export { Rng } from './rng';
export * from './gaussian';
export * from './mlp';
export * from './distill';
export * from './experiment';
export * from './labels';
