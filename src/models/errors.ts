/**
 * Models raise the project's error classes (src/errors.ts): `FileFormatError` for malformed weight or
 * tokenizer files, `NotFoundError` for a file, tensor, model id or hub snapshot that does not exist,
 * `ShapeError` for tensors whose shapes do not fit, `ValueError` for bad input (empty prompt, token id
 * outside the vocabulary), `ConfigError` for settings this code does not support. Each message names
 * the file, tensor or value.
 *
 * The classes models used before that taxonomy remain as deprecated aliases so existing notebooks keep
 * working: `instanceof ModelConfigError` (etc.) still matches every error that replaced it.
 */
import { ConfigError, EfflabError, FileFormatError, NotFoundError, ShapeError, ValueError } from '../errors';

/** The error for a file that cannot be opened or read: NotFoundError if it does not exist, else FileFormatError. */
export function openError(cause: unknown, message: string): EfflabError {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' ? new NotFoundError(message) : new FileFormatError(message);
}

/** @deprecated Use `FileFormatError`; `instanceof ModelFormatError` matches it. */
export class ModelFormatError extends FileFormatError {
  override name = 'FileFormatError';
  static override [Symbol.hasInstance](x: unknown): boolean {
    return x instanceof FileFormatError;
  }
}

/**
 * @deprecated Use `ConfigError`, `ShapeError`, `NotFoundError` or `FileFormatError` (what it used to
 * cover); `instanceof ModelConfigError` matches all four.
 */
export class ModelConfigError extends ConfigError {
  override name = 'ConfigError';
  static override [Symbol.hasInstance](x: unknown): boolean {
    return (
      x instanceof ConfigError ||
      x instanceof ShapeError ||
      x instanceof NotFoundError ||
      x instanceof FileFormatError
    );
  }
}

/** @deprecated Use `ValueError` or `ShapeError`; `instanceof ModelInputError` matches both. */
export class ModelInputError extends ValueError {
  override name = 'ValueError';
  static override [Symbol.hasInstance](x: unknown): boolean {
    return x instanceof ValueError || x instanceof ShapeError;
  }
}
