/** A stand-in for the efflab kernel's bridge: records displays and lets a test play the frontend's comms. */
import type {
  Comm,
  CommMessage,
  CommTargetHandler,
  JsonObject,
  KernelBridge,
  MimeBundle,
  PublishOptions,
} from '../../src/display/bridge';

export class FakeComm implements Comm {
  closed = false;
  readonly sent: JsonObject[] = [];
  private handlers: ((m: CommMessage) => void)[] = [];
  private closers: ((m: CommMessage) => void)[] = [];
  constructor(
    readonly id: string,
    readonly targetName: string,
  ) {}
  send(data: JsonObject): void {
    if (this.closed) throw new Error('send on a closed comm');
    this.sent.push(data);
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.closers) h({ data: {}, metadata: {}, buffers: [] });
  }
  onMessage(handler: (m: CommMessage) => void): () => void {
    this.handlers.push(handler);
    return () => undefined;
  }
  onClose(handler: (m: CommMessage) => void): () => void {
    this.closers.push(handler);
    return () => undefined;
  }
  nextMessage(): Promise<CommMessage> {
    return Promise.reject(new Error('not used'));
  }
  /** The frontend sends `data`. */
  receive(data: JsonObject): void {
    for (const h of this.handlers) h({ data, metadata: {}, buffers: [] });
  }
}

export class FakeBridge implements KernelBridge {
  readonly displays: { bundle: MimeBundle; options: PublishOptions }[] = [];
  readonly targets = new Map<string, CommTargetHandler>();
  private n = 0;
  publishDisplay(bundle: MimeBundle, options: PublishOptions): void {
    this.displays.push({ bundle, options });
  }
  clearOutput(): void {}
  openComm(): Comm {
    throw new Error('not used');
  }
  registerCommTarget(name: string, handler: CommTargetHandler): () => void {
    this.targets.set(name, handler);
    return () => this.targets.delete(name);
  }
  input(): Promise<string> {
    return Promise.reject(new Error('not used'));
  }
  /** The frontend opens a comm on `target`. */
  open(target: string, data: JsonObject): FakeComm {
    const handler = this.targets.get(target);
    if (!handler) throw new Error(`no kernel-side target ${target}`);
    const comm = new FakeComm(`c${++this.n}`, target);
    handler(comm, { data, metadata: {}, buffers: [] });
    return comm;
  }
}
