/**
 * The efflab kernel: sockets, the message loop and the request handlers.
 *
 * Loop design. The shell socket is read continuously. `execute_request`s go into a queue that one
 * runner works through, a cell at a time; every other request (comm messages, completion,
 * inspection, history, kernel info) is handled the moment it arrives, so a cell that awaits a comm
 * answer receives it while it is still running. Control and heartbeat live in a worker thread
 * (see control-worker.ts) so they answer even while a cell blocks the main thread.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Publisher, Router } from 'zeromq';
import { address, type ConnectionInfo } from './connection';
import { decode, encode, Signer, type JsonObject, type Message, type MessageHeader } from './wire';
import { Session } from './session';
import { Outbox } from './outbox';
import { OutputCapture } from './streams';
import { Engine, type Outcome } from './engine';
import { compileReport, isInterruption, runtimeReport, warningText, type ErrorReport } from './traceback';
import { History, type HistoryEntry } from './history';
import { CommManager } from './comms';
import { kernelInfo } from './kernel-info';
import { formatQuickInfo } from './inspect-format';
import {
  INTERRUPT_REQUESTED,
  INTERRUPT_SEEN,
  INTERRUPT_SIGNALLED,
  interruptCells,
  toBuffers,
  type FromWorker,
  type ToWorker,
  type WorkerConfig,
} from './control-protocol';
import { debug, warn } from './log';
import { BackendAnnouncer, opsModulePath } from './backend-note';
import { LIBRARY_ROOT } from './resolution';
import {
  setKernelBridge,
  type KernelBridge,
  type MimeBundle,
  type PublishOptions,
} from '../../src/display/bridge';
import { isQuiet, represent } from '../../src/display/mime';

/** How long the shell must have been quiet before efflab's declarations are preloaded. */
const PRELOAD_QUIET_MS = 150;
/** `EFFLAB_KERNEL_PRELOAD=0` turns the preload off (the benchmark's same-run comparison). */
const PRELOAD_ENV = 'EFFLAB_KERNEL_PRELOAD';

/** Where replies to a request go: the shell socket or (through the worker) the control socket. */
type ReplyChannel = { send(message: Message): void };

/** Options for starting a kernel. */
export interface KernelOptions {
  connection: ConnectionInfo;
  /** Folder cells run in (module resolution, relative paths). */
  cwd: string;
  historyDir?: string;
  /** File the control worker leaves a note in before ending a kernel stuck beyond interrupts. */
  restartNote?: string;
}

class BadRequest extends Error {}

/** Reads and removes the note a stuck predecessor left (see control-worker.ts). */
function readRestartNote(file: string | undefined): string | undefined {
  if (!file || !existsSync(file)) return undefined;
  try {
    const note = JSON.parse(readFileSync(file, 'utf8')) as { text?: unknown };
    return typeof note.text === 'string' ? note.text : undefined;
  } catch {
    return undefined;
  } finally {
    rmSync(file, { force: true });
  }
}

function field<T extends 'string' | 'number' | 'boolean'>(
  content: JsonObject,
  name: string,
  type: T,
): (T extends 'string' ? string : T extends 'number' ? number : boolean) | undefined {
  const value = content[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== type) throw new BadRequest(`content.${name} must be a ${type}`);
  return value as never;
}

/** Whether `value` is an object with at least one own key (a non-empty `user_expressions`). */
function hasEntries(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  for (const key in value) if (Object.hasOwn(value, key)) return true;
  return false;
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new BadRequest(`content.${name} is required`);
  return value;
}

/** A running kernel. */
export class Kernel {
  private readonly signer: Signer;
  private readonly session = new Session();
  private readonly shell = new Router({ linger: 0, handover: true });
  private readonly iopub = new Publisher({ linger: 1000 });
  private readonly stdin = new Router({ linger: 0, handover: true });
  private readonly shellOut: Outbox;
  private readonly iopubOut: Outbox;
  private readonly stdinOut: Outbox;
  private worker?: Worker;
  private engine?: Engine;
  private readonly capture: OutputCapture;
  private readonly comms: CommManager;
  private readonly history: History;
  private readonly queue: { message: Message; channel: ReplyChannel }[] = [];
  private running?: Message;
  private outputParent: MessageHeader | JsonObject = {};
  private executionCount = 0;
  private silentCount = 0;
  private pendingInput?: { resolve: (v: string) => void; reject: (e: Error) => void };
  private stopping = false;
  private readonly info = kernelInfo();
  private readonly backendNote = new BackendAnnouncer(opsModulePath(LIBRARY_ROOT));
  /** Why the previous kernel on these ports was ended, told in the first cell's output. */
  private restartText?: string;
  /** Counted up by the control worker on interrupt_request (see control-protocol.ts). */
  private readonly interrupts = interruptCells();
  /** How many of the worker's SIGINTs the main thread has seen. */
  private workerSignalsSeen = 0;
  /** Requests answered while a cell ran: their `idle` waits for the cell's, as ipykernel's order has it. */
  private deferredIdle: MessageHeader[] = [];
  /** When the last shell request arrived (performance.now()), for the preload's quiet moment. */
  private lastShellRequest = 0;
  private preloaded = false;

  constructor(private readonly options: KernelOptions) {
    this.signer = new Signer(options.connection.key, options.connection.signature_scheme);
    const onSendError = (e: unknown) => warn(`send failed: ${String(e)}`);
    this.shellOut = new Outbox(this.shell, onSendError);
    this.iopubOut = new Outbox(this.iopub, onSendError);
    this.stdinOut = new Outbox(this.stdin, onSendError);
    this.capture = new OutputCapture((name, text) => this.publish('stream', { name, text }));
    this.comms = new CommManager(
      (type, content, metadata, buffers) => {
        this.capture.flush();
        this.publish(type, content, this.outputParent, metadata, buffers);
      },
      (error) =>
        process.stderr.write(
          `Error in a comm handler: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
        ),
    );
    this.history = new History(options.historyDir);
    this.restartText = readRestartNote(options.restartNote);
  }

  /** Binds every socket, starts the control worker and begins serving. Resolves once serving. */
  async start(): Promise<void> {
    const conn = this.options.connection;
    await Promise.all([
      this.shell.bind(address(conn, conn.shell_port)),
      this.iopub.bind(address(conn, conn.iopub_port)),
      this.stdin.bind(address(conn, conn.stdin_port)),
    ]);
    await this.startWorker();
    this.capture.install();
    setKernelBridge(this.bridge());
    process.on('SIGINT', () => this.onSigint());
    process.on('uncaughtException', (error) => this.reportBackground('Uncaught exception', error));
    process.on('unhandledRejection', (reason) =>
      this.reportBackground('Unhandled promise rejection', reason),
    );
    void this.serveShell();
    void this.serveStdin();
    // The compiler takes a moment to start; do it once the sockets are answering.
    setImmediate(() => {
      this.getEngine();
      this.schedulePreload();
    });
  }

  /**
   * Loads efflab's declarations into the compiler once the kernel has been quiet for a moment (no
   * shell request for PRELOAD_QUIET_MS, no cell running or queued), so that the first cell that
   * imports from efflab does not spend most of a second reading and parsing them
   * (bench/kernel.bench.ts, kernel-first-import). It blocks the main thread while it runs (about
   * as long as that first import used to take); a request arriving meanwhile waits for it, which
   * is why it waits for a quiet moment and never runs while cells are queued.
   */
  private schedulePreload(delay = PRELOAD_QUIET_MS): void {
    if (this.preloaded || this.stopping || process.env[PRELOAD_ENV] === '0') return;
    setTimeout(() => {
      if (this.preloaded || this.stopping) return;
      const quietFor = performance.now() - this.lastShellRequest;
      if (quietFor < PRELOAD_QUIET_MS) return this.schedulePreload(PRELOAD_QUIET_MS - quietFor);
      if (this.running || this.queue.length > 0) return this.schedulePreload();
      this.preloaded = true;
      const t0 = performance.now();
      try {
        const loaded = this.getEngine().preload('efflab');
        debug(
          `efflab's declarations ${loaded ? 'preloaded' : 'not found'} in ${Math.round(performance.now() - t0)} ms`,
        );
      } catch (error) {
        warn(`preloading efflab's declarations failed: ${String(error)}`);
      }
    }, delay).unref();
  }

  private getEngine(): Engine {
    this.engine ??= new Engine(this.options.cwd, this.interrupts);
    return this.engine;
  }

  private startWorker(): Promise<void> {
    const conn = this.options.connection;
    const config: WorkerConfig = {
      controlAddress: address(conn, conn.control_port),
      heartbeatAddress: address(conn, conn.hb_port),
      key: conn.key,
      signatureScheme: conn.signature_scheme,
      pid: process.pid,
      interrupts: this.interrupts.buffer as SharedArrayBuffer,
      restartNote: this.options.restartNote,
    };
    const compiled = path.join(__dirname, 'control-worker.js');
    const worker = existsSync(compiled)
      ? new Worker(compiled, { workerData: config })
      : new Worker(path.join(__dirname, 'control-worker.ts'), {
          workerData: config,
          execArgv: ['--import', 'tsx'],
        });
    this.worker = worker;
    worker.unref();
    return new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (msg: FromWorker) => {
        if (msg.kind === 'ready') resolve();
        else this.onWorkerMessage(msg);
      });
    });
  }

  private onWorkerMessage(msg: FromWorker): void {
    switch (msg.kind) {
      case 'control': {
        const decoded = decode(toBuffers(msg.frames), this.signer);
        if (decoded.ok) void this.handle(decoded.message, this.controlChannel());
        return;
      }
      case 'interrupted': {
        // The event loop runs: tell the worker's watchdog this kernel is not stuck.
        Atomics.store(this.interrupts, INTERRUPT_SEEN, Atomics.load(this.interrupts, INTERRUPT_REQUESTED));
        // An awaiting cell is abandoned here (no SIGINT is raised unless synchronous code runs).
        if (this.engine?.takeInterrupt()) this.interrupt();
        const decoded = decode(toBuffers(msg.frames), this.signer);
        if (decoded.ok) {
          // As ipykernel's control thread does: busy and idle around the interrupt request.
          this.publishStatus('busy', decoded.message.header);
          this.publishStatus('idle', decoded.message.header);
        }
        return;
      }
      case 'dropped':
        warn(`control: dropped a message (${msg.reason})`);
        return;
      case 'error':
        warn(msg.text);
        return;
      case 'ready':
        return;
    }
  }

  private controlChannel(): ReplyChannel {
    return {
      send: (message) => {
        const frames = encode(message, this.signer);
        const out: ToWorker = { kind: 'send', frames };
        this.worker?.postMessage(out);
      },
    };
  }

  private shellChannel(): ReplyChannel {
    return { send: (message) => this.shellOut.push(encode(message, this.signer)) };
  }

  private async serveShell(): Promise<void> {
    const channel = this.shellChannel();
    try {
      for await (const frames of this.shell) {
        const decoded = decode(frames, this.signer);
        if (!decoded.ok) {
          warn(`shell: dropped a message (${decoded.reason}: ${decoded.detail})`);
          continue;
        }
        const { message } = decoded;
        this.lastShellRequest = performance.now();
        debug(`shell <- ${message.header.msg_type}`);
        if (message.header.msg_type === 'execute_request') {
          this.queue.push({ message, channel });
          void this.runQueue();
        } else {
          void this.handle(message, channel, true);
        }
      }
    } catch (error) {
      if (!this.stopping) warn(`shell loop ended: ${String(error)}`);
    }
  }

  private async serveStdin(): Promise<void> {
    try {
      for await (const frames of this.stdin) {
        const decoded = decode(frames, this.signer);
        if (!decoded.ok) {
          warn(`stdin: dropped a message (${decoded.reason})`);
          continue;
        }
        const { message } = decoded;
        if (message.header.msg_type !== 'input_reply' || !this.pendingInput) continue;
        const waiter = this.pendingInput;
        this.pendingInput = undefined;
        waiter.resolve(typeof message.content.value === 'string' ? message.content.value : '');
      }
    } catch (error) {
      if (!this.stopping) warn(`stdin loop ended: ${String(error)}`);
    }
  }

  // ---- publishing -------------------------------------------------------------------------

  private publish(
    type: string,
    content: JsonObject,
    parent: MessageHeader | JsonObject = this.outputParent,
    metadata: JsonObject = {},
    buffers: Buffer[] = [],
  ): void {
    const message = this.session.message(type, content, parent, {
      identities: [Buffer.from(`kernel.${this.session.id}.${type}`)],
      metadata,
      buffers,
    });
    this.iopubOut.push(encode(message, this.signer));
  }

  private publishStatus(state: 'busy' | 'idle', parent: MessageHeader): void {
    this.publish('status', { execution_state: state }, parent);
  }

  /** Publishes the idles of requests answered while the cell that just ended ran. */
  private releaseDeferredIdle(): void {
    const headers = this.deferredIdle;
    this.deferredIdle = [];
    for (const header of headers) this.publishStatus('idle', header);
  }

  private reportBackground(what: string, error: unknown): void {
    if (isInterruption(error)) {
      // A loop in a timer or event callback of a cell, stopped by an interrupt (engine.ts).
      const where = /<cell \d+>:\d+/.exec(error instanceof Error ? (error.stack ?? '') : '')?.[0];
      process.stderr.write(
        `KeyboardInterrupt: stopped a loop running outside its cell${where ? ` (at ${where})` : ''}; the kernel's variables are kept\n`,
      );
      return;
    }
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`${what}: ${text}\n`);
  }

  // ---- requests other than execute -------------------------------------------------------

  private async handle(message: Message, channel: ReplyChannel, onShell = false): Promise<void> {
    const type = message.header.msg_type;
    this.publishStatus('busy', message.header);
    try {
      await this.dispatch(message, channel);
    } catch (error) {
      const evalue = error instanceof Error ? error.message : String(error);
      warn(`${type}: ${evalue}`);
      if (type.endsWith('_request')) {
        channel.send(
          this.session.reply(message, {
            status: 'error',
            ename: error instanceof BadRequest ? 'BadRequest' : 'KernelError',
            evalue,
            traceback: [],
          }),
        );
      }
    } finally {
      // ipykernel answers shell requests one at a time, so the kernel shows busy until a running
      // cell ends. We answer them at once (a cell may await a comm message), but keep the status:
      // while a cell runs, the request's idle is published after the cell's.
      if (onShell && this.running) this.deferredIdle.push(message.header);
      else this.publishStatus('idle', message.header);
    }
  }

  private async dispatch(message: Message, channel: ReplyChannel): Promise<void> {
    const { content } = message;
    const reply = (body: JsonObject) => channel.send(this.session.reply(message, body));
    switch (message.header.msg_type) {
      case 'kernel_info_request':
        return reply(this.info);
      case 'complete_request': {
        const code = required(field(content, 'code', 'string'), 'code');
        const cursor = field(content, 'cursor_pos', 'number') ?? code.length;
        const c = this.getEngine().complete(code, cursor);
        return reply({
          status: 'ok',
          matches: c.matches,
          cursor_start: c.start,
          cursor_end: c.end,
          metadata: {
            _jupyter_types_experimental: c.matches.map((text, i) => ({
              text,
              type: c.kinds[i],
              start: c.start,
              end: c.end,
            })),
          },
        });
      }
      case 'inspect_request': {
        const code = required(field(content, 'code', 'string'), 'code');
        const cursor = field(content, 'cursor_pos', 'number') ?? code.length;
        const info = this.getEngine().inspect(code, cursor);
        return reply(
          info
            ? { status: 'ok', found: true, data: formatQuickInfo(info), metadata: {} }
            : { status: 'ok', found: false, data: {}, metadata: {} },
        );
      }
      case 'is_complete_request': {
        const code = required(field(content, 'code', 'string'), 'code');
        return reply({ ...this.getEngine().isComplete(code) });
      }
      case 'history_request':
        return reply({ status: 'ok', history: this.historyReply(content) });
      case 'comm_info_request':
        return reply({ status: 'ok', comms: this.comms.info(field(content, 'target_name', 'string')) });
      case 'comm_open':
        return this.comms.handleOpen(content, message.metadata, message.buffers);
      case 'comm_msg':
        if (!this.comms.handleMessage(content, message.metadata, message.buffers))
          warn(`comm_msg for unknown comm ${String(content.comm_id)}`);
        return;
      case 'comm_close':
        return this.comms.handleClose(content, message.metadata, message.buffers);
      case 'interrupt_request':
        this.interrupt();
        return reply({ status: 'ok' });
      case 'shutdown_request': {
        const restart = field(content, 'restart', 'boolean') ?? false;
        reply({ status: 'ok', restart });
        this.publish('shutdown_reply', { status: 'ok', restart }, message.header);
        return this.shutdown();
      }
      default:
        warn(`unknown message type ${message.header.msg_type}; ignored`);
    }
  }

  private historyReply(content: JsonObject): (string | number | (string | null)[])[][] {
    const output = field(content, 'output', 'boolean') ?? false;
    const access = field(content, 'hist_access_type', 'string') ?? 'tail';
    let entries: HistoryEntry[];
    // Defaults as ipykernel's do_history has them.
    if (access === 'tail') entries = this.history.tail(field(content, 'n', 'number') ?? null);
    else if (access === 'range') {
      entries = this.history.range(
        field(content, 'session', 'number') ?? 0,
        field(content, 'start', 'number') ?? 0,
        field(content, 'stop', 'number') ?? null,
      );
    } else if (access === 'search') {
      entries = this.history.search(
        field(content, 'pattern', 'string') ?? '*',
        field(content, 'n', 'number') ?? null,
        field(content, 'unique', 'boolean') ?? false,
      );
    } else throw new BadRequest(`unknown hist_access_type ${access}`);
    return entries.map((e) =>
      output ? [e.session, e.line, [e.input, e.output]] : [e.session, e.line, e.input],
    );
  }

  // ---- execution -------------------------------------------------------------------------

  private async runQueue(): Promise<void> {
    if (this.running) return;
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      this.running = next.message;
      try {
        await this.execute(next.message, next.channel);
      } catch (error) {
        // Never leave the client waiting: a fault of the kernel itself still gets a reply.
        warn(`execute failed inside the kernel: ${String(error)}`);
        const evalue = error instanceof Error ? error.message : String(error);
        next.channel.send(
          this.session.reply(next.message, {
            status: 'error',
            ename: 'KernelError',
            evalue,
            traceback: [`KernelError: ${evalue}`],
            execution_count: this.executionCount,
          }),
        );
        this.publishStatus('idle', next.message.header);
        this.releaseDeferredIdle();
      } finally {
        this.running = undefined;
      }
    }
  }

  private async execute(message: Message, channel: ReplyChannel): Promise<void> {
    const { content, header } = message;
    this.publishStatus('busy', header);
    let code: string;
    try {
      code = required(field(content, 'code', 'string'), 'code');
    } catch (error) {
      channel.send(
        this.session.reply(message, {
          status: 'error',
          ename: 'BadRequest',
          evalue: String((error as Error).message),
          traceback: [],
          execution_count: this.executionCount,
        }),
      );
      this.publishStatus('idle', header);
      return;
    }
    const silent = content.silent === true;
    const storeHistory = content.store_history !== false && !silent;
    const stopOnError = content.stop_on_error !== false;
    if (storeHistory) this.executionCount++;
    const count = this.executionCount;
    const cellNo = storeHistory ? count : 1_000_000 + ++this.silentCount;
    this.outputParent = header;
    this.allowStdin = content.allow_stdin === true;
    if (!silent) this.publish('execute_input', { code, execution_count: count }, header);

    const outcome: Outcome =
      code.trim() === ''
        ? { kind: 'ok', hasValue: false, value: undefined, warnings: [] }
        : await this.getEngine().execute(code, cellNo);
    this.capture.flush();
    if (this.restartText) {
      this.publish('stream', { name: 'stderr', text: `${this.restartText}\n` }, header);
      this.restartText = undefined;
    }
    const note = this.backendNote.take();
    if (note) this.publish('stream', { name: 'stdout', text: note }, header);

    let error: ErrorReport | undefined;
    let resultText: string | null = null;
    if (outcome.kind === 'ok') {
      if (outcome.warnings.length > 0)
        this.publish('stream', { name: 'stderr', text: warningText(outcome.warnings) }, header);
      if (outcome.hasValue && !silent && !isQuiet(outcome.value)) {
        try {
          const rep = represent(outcome.value);
          resultText = typeof rep.data['text/plain'] === 'string' ? rep.data['text/plain'] : null;
          this.publish(
            'execute_result',
            { execution_count: count, data: rep.data, metadata: rep.metadata },
            header,
          );
        } catch (e) {
          error = runtimeReport(e, (n) => this.engine?.cell(n));
        }
      }
    } else if (outcome.kind === 'compile-error') {
      error = compileReport(outcome.diagnostics, cellNo, code);
    } else {
      error = runtimeReport(outcome.error, (n) => this.engine?.cell(n));
    }

    if (error)
      this.publish('error', { ename: error.ename, evalue: error.evalue, traceback: error.traceback }, header);
    if (storeHistory) this.history.record(count, code, resultText);
    // No await (and no extra turn of the event loop) when there is nothing to evaluate.
    const userExpressions =
      error || !hasEntries(content.user_expressions)
        ? {}
        : await this.evaluateUserExpressions(content.user_expressions);
    this.publishStatus('idle', header);
    this.releaseDeferredIdle();
    // Everything this cell published is on the wire before its reply, so a client that reads the
    // reply and then drains iopub finds all of it there, however loaded the machine is.
    await this.iopubOut.flushed();
    const reply: JsonObject = error
      ? {
          status: 'error',
          execution_count: count,
          ename: error.ename,
          evalue: error.evalue,
          traceback: error.traceback,
        }
      : { status: 'ok', execution_count: count, payload: [], user_expressions: userExpressions };
    channel.send(this.session.reply(message, reply));
    // An interrupt that came while this cell ran was for this cell only.
    this.engine?.takeInterrupt();
    if (error && stopOnError) this.abortQueued();
  }

  /** Evaluates the request's `user_expressions` after a successful cell, each to a bundle or an error. */
  private async evaluateUserExpressions(expressions: unknown): Promise<JsonObject> {
    const out: JsonObject = {};
    if (typeof expressions !== 'object' || expressions === null || Array.isArray(expressions)) return out;
    for (const [name, expr] of Object.entries(expressions as Record<string, unknown>)) {
      if (typeof expr !== 'string') continue;
      const n = 1_000_000 + ++this.silentCount;
      const outcome = await this.getEngine().execute(expr, n);
      if (outcome.kind === 'ok') {
        const rep = outcome.hasValue
          ? represent(outcome.value)
          : { data: { 'text/plain': 'undefined' }, metadata: {} };
        out[name] = { status: 'ok', data: rep.data, metadata: rep.metadata };
      } else {
        const report =
          outcome.kind === 'compile-error'
            ? compileReport(outcome.diagnostics, n, expr)
            : runtimeReport(outcome.error, (k) => this.engine?.cell(k));
        out[name] = {
          status: 'error',
          ename: report.ename,
          evalue: report.evalue,
          traceback: report.traceback,
        };
      }
    }
    return out;
  }

  /** After an error, answers every queued execute request with `aborted`, as ipykernel does. */
  private abortQueued(): void {
    const aborted = this.queue.splice(0);
    for (const { message, channel } of aborted) {
      this.publishStatus('busy', message.header);
      channel.send(this.session.reply(message, { status: 'aborted', execution_count: this.executionCount }));
      this.publishStatus('idle', message.header);
    }
  }

  private allowStdin = false;

  /**
   * SIGINT, raised by the control worker for an interrupt_request or sent by a client itself. A
   * worker's signal whose request was already honoured (a loop check stopped the code, or `vm`
   * stopped the script) is not acted on again, so it cannot stop the next cell.
   */
  private onSigint(): void {
    const fromWorker = this.workerSignalsSeen < Atomics.load(this.interrupts, INTERRUPT_SIGNALLED);
    if (fromWorker) this.workerSignalsSeen++;
    const pending = this.engine?.takeInterrupt() ?? false;
    if (!fromWorker || pending) this.interrupt();
  }

  private interrupt(): void {
    // With nothing running or queued there is nothing to stop; do not stop the next cell instead.
    if (!this.running && this.queue.length === 0) return;
    this.engine?.interrupt();
    const waiter = this.pendingInput;
    this.pendingInput = undefined;
    waiter?.reject(new Error('Interrupted asynchronously'));
  }

  // ---- library bridge --------------------------------------------------------------------

  private bridge(): KernelBridge {
    return {
      publishDisplay: (bundle: MimeBundle, options: PublishOptions) => {
        this.capture.flush();
        const transient: JsonObject = options.displayId ? { display_id: options.displayId } : {};
        this.publish(options.update ? 'update_display_data' : 'display_data', {
          data: bundle,
          metadata: options.metadata ?? {},
          transient,
        });
      },
      clearOutput: (wait: boolean) => {
        this.capture.flush();
        this.publish('clear_output', { wait });
      },
      openComm: (target, data, opts) => this.comms.open(target, data, opts),
      registerCommTarget: (target, handler) => this.comms.registerTarget(target, handler),
      input: (prompt, password) => this.requestInput(prompt, password),
    };
  }

  private requestInput(prompt: string, password: boolean): Promise<string> {
    const request = this.running;
    if (!request || !this.allowStdin)
      return Promise.reject(new Error('this frontend does not accept input requests'));
    if (this.pendingInput) return Promise.reject(new Error('another input request is pending'));
    this.capture.flush();
    const message = this.session.message('input_request', { prompt, password }, request.header, {
      identities: request.identities,
    });
    this.stdinOut.push(encode(message, this.signer));
    return new Promise((resolve, reject) => {
      this.pendingInput = { resolve, reject };
    });
  }

  // ---- shutdown --------------------------------------------------------------------------

  /** Flushes outputs, closes sockets and exits the process. */
  async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.capture.flush();
    await Promise.all([
      this.shellOut.flushed(),
      this.iopubOut.flushed(),
      this.stdinOut.flushed(),
      this.history.flush(),
    ]);
    const stop: ToWorker = { kind: 'stop' };
    this.worker?.postMessage(stop);
    // Give the worker a moment to hand the control reply to its socket.
    await new Promise((resolve) => setTimeout(resolve, 50));
    this.capture.uninstall();
    setKernelBridge(undefined);
    this.engine?.close();
    this.shell.close();
    this.stdin.close();
    this.iopub.close();
    await this.worker?.terminate();
    process.exit(0);
  }
}
