/**
 * efflab: the library imported from notebook cells (`import { … } from 'efflab'`).
 * Each area is a namespace; the ops are also exported flat for convenience.
 */
export * as ops from './ops';
// The error taxonomy (src/errors.ts); ShapeError, NonFiniteError and BackendError also come through ops.
export { ConfigError, EfflabError, FileFormatError, NotFoundError, ValueError } from './errors';
export * from './ops';
export * as data from './data';
export * as lorc from './methods/lorc';
export * from './display';
export * as ptloss from './methods/ptloss';
export * as prboost from './methods/prboost';
export * as dorm from './methods/dorm';
export * as widgets from './widgets';
export * as models from './models';
export * as train from './train';
