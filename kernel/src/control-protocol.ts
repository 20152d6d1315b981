/** Messages between the main thread and the control/heartbeat worker thread. */

/** Main thread → worker. */
export type ToWorker = { kind: 'send'; frames: Uint8Array[] } | { kind: 'stop' };

/** Worker → main thread. */
export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'control'; frames: Uint8Array[] }
  | { kind: 'interrupted'; frames: Uint8Array[] }
  | { kind: 'dropped'; reason: string }
  | { kind: 'error'; text: string };

/** What the worker needs to bind its sockets and check signatures. */
export interface WorkerConfig {
  controlAddress: string;
  heartbeatAddress: string;
  key: string;
  signatureScheme: string;
  /** The kernel process to signal on interrupt_request. */
  pid: number;
  /** Shared liveness words of the main thread, see `MainThreadState`. */
  state: SharedArrayBuffer;
}

/**
 * Two Int32 words the main thread shares with the worker: a tick counter the main thread bumps
 * every 50 ms while its event loop turns, and whether user code (a cell, or a callback it left
 * behind) is what the main thread is running. A stuck tick while user code runs means a loop the
 * SIGINT could not stop, and only then does the worker terminate the main thread's execution.
 */
export const TICK = 0;
export const PHASE = 1;
export const PHASE_KERNEL = 0;
export const PHASE_USER = 1;
export const TICK_MS = 50;

/** Views transferred frames as Buffers without copying. */
export function toBuffers(frames: readonly Uint8Array[]): Buffer[] {
  return frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength));
}
