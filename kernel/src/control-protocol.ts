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
  /**
   * One Int32 the worker sets on interrupt_request. The main thread may be compiling a cell when
   * the request comes, where SIGINT cannot stop anything; the cell then checks this flag right
   * before its code would start, and does not start.
   */
  interruptFlag: SharedArrayBuffer;
}

/** Views transferred frames as Buffers without copying. */
export function toBuffers(frames: readonly Uint8Array[]): Buffer[] {
  return frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength));
}
