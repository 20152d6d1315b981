/**
 * LoRC raises the project's error classes (src/errors.ts): `ValueError` for bad ranks, targets and
 * caches used out of order, `ShapeError` for operands that do not fit, `ConfigError` for settings that
 * cannot work together.
 */
import { ConfigError, ShapeError, ValueError } from '../../errors';

/**
 * @deprecated Use `ValueError`, `ShapeError` or `ConfigError`; `instanceof LorcError` matches all
 * three. `new LorcError(msg)` is a `ValueError`.
 */
export class LorcError extends ValueError {
  override name = 'ValueError';
  static override [Symbol.hasInstance](x: unknown): boolean {
    return x instanceof ValueError || x instanceof ShapeError || x instanceof ConfigError;
  }
}
