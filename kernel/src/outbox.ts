/**
 * A send queue for one ZeroMQ socket. zeromq v6 rejects a send while another is still in
 * flight on the same socket, so every send goes through here and leaves in order.
 */

/** Anything with zeromq v6's async multipart `send`. */
export interface FrameSink {
  send(frames: Buffer[]): Promise<void>;
}

/** Serialises sends to one socket; failures are reported, never thrown at the caller. */
export class Outbox {
  private readonly queue: Buffer[][] = [];
  private draining = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly sink: FrameSink,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Queues frames; they are sent after everything queued before them. */
  push(frames: Buffer[]): void {
    this.queue.push(frames);
    if (!this.draining) void this.drain();
  }

  /** Resolves once everything queued so far has been handed to the socket. */
  flushed(): Promise<void> {
    if (!this.draining && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.queue.length > 0) {
      const frames = this.queue.shift() as Buffer[];
      try {
        await this.sink.send(frames);
      } catch (error) {
        this.onError(error);
      }
    }
    this.draining = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
