/**
 * Rich representations of values: the protocol objects implement to display themselves, and the
 * conversion the kernel applies to a cell's last value (danfojs frames and series become HTML
 * tables; everything else is shown as Node's REPL would show it).
 */
import { inspect } from 'node:util';
import type { JsonObject, MimeBundle } from './bridge';
import { frameToHtml, frameToText, isFrameLike } from './table';

/** Objects with a method under this symbol display as the bundle it returns. */
export const DISPLAY = Symbol.for('efflab.display');

/** Objects with a truthy property under this symbol show nothing as a cell's last value. */
export const QUIET = Symbol.for('efflab.quiet');

/** Whether `value` asks not to be shown as a cell result (display handles, progress bars). */
export function isQuiet(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { [QUIET]?: unknown })[QUIET] === true;
}

/** A bundle plus per-MIME metadata (image sizes, for example). */
export interface Representation {
  data: MimeBundle;
  metadata: JsonObject;
}

/** Something that knows how to display itself. */
export interface Displayable {
  [DISPLAY](): Representation;
}

/** Whether `value` implements the display protocol. */
export function isDisplayable(value: unknown): value is Displayable {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as Partial<Displayable>)[DISPLAY] === 'function'
  );
}

/** The text a REPL would print for `value`. */
export function plainText(value: unknown): string {
  return inspect(value, { depth: 4, maxArrayLength: 100, maxStringLength: 10_000, breakLength: 100 });
}

/** The representation of any value: its own, a table for data frames, or plain text. */
export function represent(value: unknown): Representation {
  if (isDisplayable(value)) return value[DISPLAY]();
  if (isFrameLike(value)) {
    return { data: { 'text/html': frameToHtml(value), 'text/plain': frameToText(value) }, metadata: {} };
  }
  return { data: { 'text/plain': plainText(value) }, metadata: {} };
}
