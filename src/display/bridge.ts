/**
 * The contract between the efflab library and the efflab kernel. The kernel installs one bridge
 * object on a process-wide symbol; library code (display, progress bars, comms) finds it there.
 * Outside a kernel there is no bridge and the library falls back to plain text on stdout.
 */

import type { Json, JsonObject } from '../protocol/json';

export type { Json, JsonObject };

/** Representations of one output by MIME type: strings (base64 for binary) or JSON values. */
export type MimeBundle = { [mime: string]: Json };

/** A message on a comm: JSON data, metadata and optional binary buffers. */
export interface CommMessage {
  data: JsonObject;
  metadata: JsonObject;
  buffers: Uint8Array[];
}

/** Options for sending on a comm. */
export interface CommSendOptions {
  metadata?: JsonObject;
  buffers?: ArrayBufferView[];
}

/** One end of a comm channel between kernel code and the frontend. */
export interface Comm {
  /** The comm's id, shared with the frontend. */
  readonly id: string;
  /** The target the comm was opened on. */
  readonly targetName: string;
  /** True after either side closed it. */
  readonly closed: boolean;
  /** Sends data (and binary buffers) to the frontend. */
  send(data: JsonObject, options?: CommSendOptions): void;
  /** Closes the comm, telling the frontend unless the frontend closed it. */
  close(data?: JsonObject): void;
  /** Calls `handler` for every message from the frontend; returns a function that unsubscribes. */
  onMessage(handler: (message: CommMessage) => void): () => void;
  /** Calls `handler` once when the comm closes. */
  onClose(handler: (message: CommMessage) => void): () => void;
  /**
   * Resolves with the next message from the frontend (messages that arrive while nobody waits are
   * queued). Rejects when the comm closes or after `timeoutMs`. A cell may `await` this.
   */
  nextMessage(options?: { timeoutMs?: number }): Promise<CommMessage>;
}

/** Called when the frontend opens a comm on a registered target. */
export type CommTargetHandler = (comm: Comm, open: CommMessage) => void;

/** Options of a display call. */
export interface PublishOptions {
  metadata?: JsonObject;
  displayId?: string;
  /** Replace the output with this display id instead of adding a new one. */
  update?: boolean;
}

/** What the kernel offers to library code running in it. */
export interface KernelBridge {
  /** Publishes a display_data (or update_display_data) message. */
  publishDisplay(bundle: MimeBundle, options: PublishOptions): void;
  /** Clears the current cell's output (after the next output when `wait`). */
  clearOutput(wait: boolean): void;
  /** Opens a comm to a frontend target. */
  openComm(targetName: string, data: JsonObject, options?: CommSendOptions): Comm;
  /** Registers a kernel-side target for comms the frontend opens; returns an unregister function. */
  registerCommTarget(targetName: string, handler: CommTargetHandler): () => void;
  /** Asks the frontend for a line of input over the stdin channel. */
  input(prompt: string, password: boolean): Promise<string>;
}

const BRIDGE = Symbol.for('efflab.kernel.bridge');
type Holder = { [BRIDGE]?: KernelBridge };

/** The running kernel's bridge, or undefined outside a kernel. */
export function getKernelBridge(): KernelBridge | undefined {
  return (globalThis as Holder)[BRIDGE];
}

/** Installs (or removes, with undefined) the bridge; called by the kernel at start-up. */
export function setKernelBridge(bridge: KernelBridge | undefined): void {
  if (bridge) (globalThis as Holder)[BRIDGE] = bridge;
  else delete (globalThis as Holder)[BRIDGE];
}
