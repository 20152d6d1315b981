/**
 * Small checks of untrusted values (comm messages, MIME bundles, JSON files, cell arguments). Each names
 * what it checked (`where`) and what it found; the caller picks the error class: `FileFormatError` for a
 * message or file that does not have the expected layout, `ValueError` for a value out of its domain.
 */
import { FileFormatError, ValueError } from '../errors';

/** The error class a check raises. */
export type CheckError = typeof FileFormatError | typeof ValueError;

/** A short description of a value for error messages ("an array", "number 3", "null"). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return `${typeof value} ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

/** A plain object (not null, not an array), else the error. */
export function requireObject(value: unknown, where: string, E: CheckError): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new E(`${where} must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** A string, else the error. */
export function requireString(value: unknown, where: string, E: CheckError): string {
  if (typeof value !== 'string') throw new E(`${where} must be a string, got ${describe(value)}`);
  return value;
}

/** An array of strings, else the error naming the first bad entry. */
export function requireStrings(value: unknown, where: string, E: CheckError): string[] {
  if (!Array.isArray(value)) throw new E(`${where} must be an array of strings, got ${describe(value)}`);
  return value.map((v: unknown, i: number) => requireString(v, `${where}[${i}]`, E));
}

/** A finite number, else the error. */
export function requireFinite(value: unknown, where: string, E: CheckError): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new E(`${where} must be a finite number, got ${describe(value)}`);
  }
  return value;
}

/** An array of numbers (NaN and ±Infinity allowed unless `finite`), else the error. */
export function requireNumbers(value: unknown, where: string, E: CheckError, finite = false): number[] {
  if (!Array.isArray(value)) throw new E(`${where} must be an array of numbers, got ${describe(value)}`);
  value.forEach((v: unknown, i: number) => {
    if (typeof v !== 'number' || (finite && !Number.isFinite(v))) {
      throw new E(`${where}[${i}] must be a ${finite ? 'finite ' : ''}number, got ${describe(v)}`);
    }
  });
  return value as number[];
}
