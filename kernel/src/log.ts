/**
 * The kernel's own log. It writes to the real stderr captured at start-up, so it never lands in
 * a notebook cell even while the user's stdout and stderr are redirected to iopub.
 */
const write = process.stderr.write.bind(process.stderr);
let verbose = process.env.EFFLAB_KERNEL_DEBUG === '1';

/** Turns debug logging on or off. */
export function setVerbose(on: boolean): void {
  verbose = on;
}

/** Logs a warning line (always shown in the server log). */
export function warn(message: string): void {
  write(`[efflab-kernel] ${new Date().toISOString()} WARN ${message}\n`);
}

/** Logs a debug line (only with EFFLAB_KERNEL_DEBUG=1). */
export function debug(message: string): void {
  if (verbose) write(`[efflab-kernel] ${new Date().toISOString()} DEBUG ${message}\n`);
}
