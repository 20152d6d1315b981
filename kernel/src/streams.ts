/**
 * Redirects the process's stdout and stderr to iopub `stream` messages. Writes are batched for a
 * few milliseconds so a tight `console.log` loop becomes a handful of messages, and `flush()`
 * lets the kernel put pending text ahead of a display, a result or an error.
 */
type StreamName = 'stdout' | 'stderr';
type WriteCallback = (error?: Error | null) => void;

const BATCH_MS = 20;
const MAX_BATCH_CHARS = 64 * 1024;

/** Captures both standard streams and hands text to `emit` in order. */
export class OutputCapture {
  private pending: { name: StreamName; text: string }[] = [];
  private size = 0;
  private timer?: NodeJS.Timeout;
  private readonly decoder = new TextDecoder();
  private readonly originals: Partial<Record<StreamName, typeof process.stdout.write>> = {};

  constructor(private readonly emit: (name: StreamName, text: string) => void) {}

  /** Replaces `process.stdout.write` and `process.stderr.write`. */
  install(): void {
    for (const name of ['stdout', 'stderr'] as const) {
      const stream = process[name];
      this.originals[name] = stream.write;
      const replacement = (chunk: unknown, encodingOrCallback?: unknown, callback?: unknown): boolean => {
        const text =
          typeof chunk === 'string'
            ? chunk
            : chunk instanceof Uint8Array
              ? this.decoder.decode(chunk)
              : String(chunk);
        this.push(name, text);
        const done = (typeof encodingOrCallback === 'function' ? encodingOrCallback : callback) as
          WriteCallback | undefined;
        if (typeof done === 'function') process.nextTick(done);
        return true;
      };
      stream.write = replacement as typeof stream.write;
    }
  }

  /** Puts the real writers back. */
  uninstall(): void {
    for (const name of ['stdout', 'stderr'] as const) {
      const original = this.originals[name];
      if (original) process[name].write = original;
    }
  }

  private push(name: StreamName, text: string): void {
    if (text === '') return;
    const last = this.pending[this.pending.length - 1];
    if (last && last.name === name) last.text += text;
    else this.pending.push({ name, text });
    this.size += text.length;
    if (this.size >= MAX_BATCH_CHARS) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  /** Emits everything written so far. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    this.size = 0;
    for (const { name, text } of batch) this.emit(name, text);
  }
}
