/** DORM (thesis ch. 3): prior weights from uncertainty and disagreement, refined by regularised bilevel optimisation. */
export * from './rng';
export * from './task';
export * from './synthetic';
export * from './head';
export * from './optim';
export * from './train';
export * from './prior';
export * from './bilevel';
export * from './solver';
export * from './metrics';
export * from './features';
export * from './projection';
export * from './experiment';
export * from './track';
export * from './export';
export * from './presets';
export * from './report';
