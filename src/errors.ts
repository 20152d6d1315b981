/**
 * The project's one error taxonomy. Every fault raised by efflab — whatever the backend, model or method —
 * is one of these classes, so a cell can `catch (e) { if (e instanceof ShapeError) … }` the same way
 * everywhere. Messages name the operation, the operand (tensor, file, row, id) and the offending value.
 *
 * | class             | raised when                                                              |
 * | ----------------- | ------------------------------------------------------------------------ |
 * | `ShapeError`      | operand shapes or lengths do not fit the operation                       |
 * | `ValueError`      | a value is out of its domain (negative rank, empty rule, unknown label)  |
 * | `NonFiniteError`  | a NaN or infinity where finite values are needed (a kind of ValueError)  |
 * | `ConfigError`     | options or settings that cannot work together (incl. unknown backends)   |
 * | `BackendError`    | a compute backend is unknown or cannot start here (a kind of ConfigError)|
 * | `FileFormatError` | a file or message that does not parse or has the wrong layout           |
 * | `NotFoundError`   | a file, model id, rule id, source name or cache entry that does not exist|
 */

/** Base class of every efflab error. */
export class EfflabError extends Error {
  override name = 'EfflabError';
}

/** Operand shapes or lengths that do not fit the operation. */
export class ShapeError extends EfflabError {
  override name = 'ShapeError';
}

/** A value outside the domain the operation accepts. */
export class ValueError extends EfflabError {
  override name = 'ValueError';
}

/** A NaN or infinity where the operation needs finite values. */
export class NonFiniteError extends ValueError {
  override name = 'NonFiniteError';
}

/** Options or settings that cannot work (together). */
export class ConfigError extends EfflabError {
  override name = 'ConfigError';
}

/** An unknown or unavailable compute backend. */
export class BackendError extends ConfigError {
  override name = 'BackendError';
}

/** A file, stored record or message whose content does not have the expected format. */
export class FileFormatError extends EfflabError {
  override name = 'FileFormatError';
}

/** Something named (a file, model id, rule id, source, cache entry) that does not exist. */
export class NotFoundError extends EfflabError {
  override name = 'NotFoundError';
}
