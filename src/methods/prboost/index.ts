/**
 * PRBoost (thesis chapter 2): prompt-based rule discovery with boosting and a person in the loop, on
 * AG News. Rules and their summary, boosting weights (Eqs. 2.1-2.3), prompt-based candidate rules
 * (Eq. 2.4), simulated annotators, soft matching (Eqs. 2.5-2.7), the weak model with self-training and
 * the ensemble (Eqs. 2.8-2.11), the iteration loop and the exports.
 */
export * from './label-matrix';
export * from './summary';
export * from './boost';
export * from './prompts';
export * from './cache';
export * from './features';
export * from './candidates';
export * from './annotators';
export * from './matching';
export * from './matcher';
export * from './self-training';
export * from './weak-model';
export * from './config';
export * from './workspace';
export * from './run';
export * from './baselines';
export * from './exports';
export * from './view';
export * from './diagnostics';
export * from './widget-annotator';
export * from './experiment';
export * from './experiment-table';
