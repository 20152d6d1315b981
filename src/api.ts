/**
 * The package's type surface (package.json `types` → dist/src/api.d.ts). It declares every area as the
 * namespace it is — so a cell can write `ptloss.Coefficients` or `lorc.RankSchedule` in a type position —
 * and the ops, display and error classes flat. It is never loaded at run time: `main` is src/index.ts,
 * which exports the same names but loads each area on first use (tests/kernel/lazy-index.test.ts checks
 * that both export exactly the same values).
 */
export * from './display';
export * from './ops';
export { ConfigError, EfflabError, FileFormatError, NotFoundError } from './errors';
// danfojs's frame type, so `const news = data.readCsv(...)` in a cell can be named.
export type { DataFrame } from './data';
export * as ops from './ops';
export * as data from './data';
export * as lorc from './methods/lorc';
export * as ptloss from './methods/ptloss';
export * as prboost from './methods/prboost';
export * as dorm from './methods/dorm';
export * as widgets from './widgets';
export * as models from './models';
export * as train from './train';
