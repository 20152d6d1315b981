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
  /** The interrupt counters (see `interruptCells`). */
  interrupts: SharedArrayBuffer;
  /** File to leave a note in before ending a kernel no interrupt could reach (read on restart). */
  restartNote?: string;
}

/** Index of the count of interrupts requested (the worker adds one per interrupt_request). */
export const INTERRUPT_REQUESTED = 0;
/** Index of the request count already honoured (set to the requested count by whoever stops code). */
export const INTERRUPT_HONOURED = 1;
/** Index of the count of SIGINTs the worker raised (to tell them from a client's own SIGINT). */
export const INTERRUPT_SIGNALLED = 2;
/** Index of the number of the cell script running synchronously right now (0: none). */
export const INTERRUPT_SCRIPT = 3;
/** Index of the request count the main thread's event loop has seen (it answers between tasks). */
export const INTERRUPT_SEEN = 4;
/** Index of a flag: 1 while the main thread compiles or runs a cell synchronously. */
export const INTERRUPT_BUSY = 5;

/**
 * Counters shared by the control worker and the main thread. An interrupt is pending while
 * requested ≠ honoured. The main thread may be compiling a cell when the request comes, where
 * SIGINT cannot stop anything; the cell checks right before its code would start and does not
 * start; the loops of running cells check it on each iteration (engine.ts). SIGINT, which stops
 * any synchronous code but cannot tell one cell from the next, is raised only when the same cell
 * script is still running synchronously a moment after the request and the request is still
 * pending (a loop check would have honoured it).
 */
export function interruptCells(buffer: SharedArrayBuffer = new SharedArrayBuffer(24)): Int32Array {
  return new Int32Array(buffer);
}

/** Views transferred frames as Buffers without copying. */
export function toBuffers(frames: readonly Uint8Array[]): Buffer[] {
  return frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength));
}
