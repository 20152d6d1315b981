/**
 * Comms, kernel side: comms opened by cell code or by the frontend, targets that serve the latter,
 * and delivery of incoming `comm_msg`s to handlers and to cells awaiting `nextMessage()`.
 * Incoming messages are handled as they arrive, even while a cell is running.
 */
import { randomUUID } from 'node:crypto';
import type {
  Comm,
  CommMessage,
  CommSendOptions,
  CommTargetHandler,
  JsonObject,
} from '../../src/display/bridge';

/** Publishes a comm message (`comm_open`, `comm_msg`, `comm_close`) on iopub. */
export type CommPublisher = (
  msgType: 'comm_open' | 'comm_msg' | 'comm_close',
  content: JsonObject,
  metadata: JsonObject,
  buffers: Buffer[],
) => void;

/** Reports an exception thrown by user code in a comm handler. */
export type HandlerErrorSink = (error: unknown) => void;

const MAX_QUEUED = 1000;

function toBuffers(views: readonly ArrayBufferView[] | undefined): Buffer[] {
  return (views ?? []).map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength));
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class KernelComm implements Comm {
  closed = false;
  private readonly handlers = new Set<(m: CommMessage) => void>();
  private readonly closeHandlers = new Set<(m: CommMessage) => void>();
  private readonly queue: CommMessage[] = [];
  private readonly waiters: { resolve: (m: CommMessage) => void; reject: (e: Error) => void }[] = [];

  constructor(
    readonly id: string,
    readonly targetName: string,
    private readonly manager: CommManager,
  ) {}

  send(data: JsonObject, options: CommSendOptions = {}): void {
    if (this.closed) throw new Error(`comm ${this.id} (${this.targetName}) is closed`);
    this.manager.publish(
      'comm_msg',
      { comm_id: this.id, data },
      options.metadata ?? {},
      toBuffers(options.buffers),
    );
  }

  close(data: JsonObject = {}): void {
    if (this.closed) return;
    this.manager.publish('comm_close', { comm_id: this.id, data }, {}, []);
    this.closedWith({ data, metadata: {}, buffers: [] });
  }

  onMessage(handler: (message: CommMessage) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  onClose(handler: (message: CommMessage) => void): () => void {
    this.closeHandlers.add(handler);
    return () => this.closeHandlers.delete(handler);
  }

  nextMessage(options: { timeoutMs?: number } = {}): Promise<CommMessage> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed) return Promise.reject(new Error(`comm ${this.id} (${this.targetName}) is closed`));
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      this.waiters.push(waiter);
      if (options.timeoutMs !== undefined) {
        const timer = setTimeout(() => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(new Error(`no message on comm ${this.targetName} within ${options.timeoutMs} ms`));
        }, options.timeoutMs);
        const settle = waiter.resolve;
        waiter.resolve = (m) => {
          clearTimeout(timer);
          settle(m);
        };
      }
    });
  }

  /** A message from the frontend. */
  deliver(message: CommMessage): void {
    for (const handler of [...this.handlers]) this.manager.guard(() => handler(message));
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(message);
    else if (this.handlers.size === 0) {
      this.queue.push(message);
      if (this.queue.length > MAX_QUEUED) this.queue.shift();
    }
  }

  /** Marks the comm closed (by either side) and tells close handlers and waiters. */
  closedWith(message: CommMessage): void {
    if (this.closed) return;
    this.closed = true;
    this.manager.forget(this.id);
    for (const handler of [...this.closeHandlers]) this.manager.guard(() => handler(message));
    for (const waiter of this.waiters.splice(0))
      waiter.reject(new Error(`comm ${this.id} (${this.targetName}) closed`));
  }
}

/** All comms of the kernel and the targets that accept frontend-opened comms. */
export class CommManager {
  private readonly comms = new Map<string, KernelComm>();
  private readonly targets = new Map<string, CommTargetHandler>();

  constructor(
    private readonly publisher: CommPublisher,
    private readonly onHandlerError: HandlerErrorSink,
  ) {}

  /** @internal used by comms to publish. */
  publish(
    type: 'comm_open' | 'comm_msg' | 'comm_close',
    content: JsonObject,
    metadata: JsonObject,
    buffers: Buffer[],
  ): void {
    this.publisher(type, content, metadata, buffers);
  }

  /** @internal runs user code, reporting what it throws. */
  guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.onHandlerError(error);
    }
  }

  /** @internal */
  forget(id: string): void {
    this.comms.delete(id);
  }

  /** Opens a comm from the kernel to a frontend target. */
  open(targetName: string, data: JsonObject = {}, options: CommSendOptions = {}): Comm {
    const comm = new KernelComm(randomUUID(), targetName, this);
    this.comms.set(comm.id, comm);
    this.publish(
      'comm_open',
      { comm_id: comm.id, target_name: targetName, data },
      options.metadata ?? {},
      toBuffers(options.buffers),
    );
    return comm;
  }

  /** Registers a target for frontend-opened comms. */
  registerTarget(targetName: string, handler: CommTargetHandler): () => void {
    this.targets.set(targetName, handler);
    return () => {
      if (this.targets.get(targetName) === handler) this.targets.delete(targetName);
    };
  }

  /** Handles `comm_open` from the frontend; unknown targets get a `comm_close` back. */
  handleOpen(content: JsonObject, metadata: JsonObject, buffers: Buffer[]): void {
    const id = content.comm_id;
    const target = content.target_name;
    if (typeof id !== 'string' || typeof target !== 'string')
      throw new Error('comm_open needs comm_id and target_name');
    const handler = this.targets.get(target);
    if (!handler) {
      this.publish('comm_close', { comm_id: id, data: { error: `no comm target named ${target}` } }, {}, []);
      return;
    }
    const comm = new KernelComm(id, target, this);
    this.comms.set(id, comm);
    this.guard(() => handler(comm, { data: isObject(content.data) ? content.data : {}, metadata, buffers }));
  }

  /** Handles `comm_msg` from the frontend. Returns false for an unknown comm. */
  handleMessage(content: JsonObject, metadata: JsonObject, buffers: Buffer[]): boolean {
    const comm = typeof content.comm_id === 'string' ? this.comms.get(content.comm_id) : undefined;
    if (!comm) return false;
    comm.deliver({ data: isObject(content.data) ? content.data : {}, metadata, buffers });
    return true;
  }

  /** Handles `comm_close` from the frontend. */
  handleClose(content: JsonObject, metadata: JsonObject, buffers: Buffer[]): void {
    const comm = typeof content.comm_id === 'string' ? this.comms.get(content.comm_id) : undefined;
    comm?.closedWith({ data: isObject(content.data) ? content.data : {}, metadata, buffers });
  }

  /** Open comms, optionally only those on `targetName`, as `comm_info_reply` lists them. */
  info(targetName?: string): JsonObject {
    const out: JsonObject = {};
    for (const comm of this.comms.values()) {
      if (targetName === undefined || comm.targetName === targetName)
        out[comm.id] = { target_name: comm.targetName };
    }
    return out;
  }
}
