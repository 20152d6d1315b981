/** The ops layer raises the project's error classes (src/errors.ts); re-exported here for ops users. */
export { BackendError, NonFiniteError, ShapeError, ValueError } from '../errors';
