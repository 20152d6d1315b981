/**
 * Showing outputs from cell code: `display()` with updatable handles, `clearOutput()`, and
 * `input()`. In a kernel these become iopub messages; elsewhere they print text to stdout.
 */
import { ConfigError } from '../errors';
import { randomUUID } from 'node:crypto';
import { getKernelBridge, type JsonObject } from './bridge';
import { QUIET, represent } from './mime';

/** A display that can be replaced in place later. */
export interface DisplayHandle {
  readonly displayId: string;
  /** Replaces the displayed value everywhere it is shown. */
  update(value: unknown): void;
}

/** Options of `display()`. */
export interface DisplayOptions {
  /** Reuse an id to show (and later update) the same display in several places. */
  displayId?: string;
  metadata?: JsonObject;
}

function publish(value: unknown, displayId: string, update: boolean, metadata?: JsonObject): void {
  const rep = represent(value);
  const bridge = getKernelBridge();
  if (!bridge) {
    process.stdout.write(`${String(rep.data['text/plain'] ?? '')}\n`);
    return;
  }
  bridge.publishDisplay(rep.data, { metadata: { ...rep.metadata, ...metadata }, displayId, update });
}

/** Shows `value` (rich where it can be) in the current cell's output; returns an updatable handle. */
export function display(value: unknown, options: DisplayOptions = {}): DisplayHandle {
  const displayId = options.displayId ?? randomUUID();
  publish(value, displayId, false, options.metadata);
  return {
    [QUIET]: true,
    displayId,
    update: (next: unknown) => publish(next, displayId, true, options.metadata),
  } as DisplayHandle;
}

/** Replaces the output shown under `displayId` (see `display()`). */
export function updateDisplay(displayId: string, value: unknown): void {
  publish(value, displayId, true);
}

/** Clears the current cell's output; with `wait`, only when the next output arrives (no flicker). */
export function clearOutput(options: { wait?: boolean } = {}): void {
  const bridge = getKernelBridge();
  if (bridge) bridge.clearOutput(options.wait ?? false);
}

/** Asks the user for a line of text (the frontend shows an input box). */
export async function input(prompt = '', options: { password?: boolean } = {}): Promise<string> {
  const bridge = getKernelBridge();
  if (!bridge) throw new ConfigError('input() needs a running efflab kernel');
  return bridge.input(prompt, options.password ?? false);
}
