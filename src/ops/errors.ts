/** Errors raised by the ops layer. Messages name the operation, the shapes and the offending values. */

/** Operand shapes that do not fit the operation. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** A NaN or infinity where the operation needs finite values. */
export class NonFiniteError extends Error {
  override name = 'NonFiniteError';
}

/** An unknown or unavailable compute backend. */
export class BackendError extends Error {
  override name = 'BackendError';
}
