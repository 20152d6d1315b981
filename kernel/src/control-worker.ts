/**
 * The control and heartbeat channels, in a worker thread of their own. Running them off the main
 * thread keeps the heartbeat answering and lets `interrupt_request` reach a cell that is stuck in
 * synchronous code: the worker answers the request and raises SIGINT in the kernel process, which
 * stops a cell running under `vm` with `breakOnSigint` and aborts an awaiting cell through the
 * main thread's SIGINT handler. Every other control message is forwarded to the main thread.
 */
import { writeFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Reply, Router } from 'zeromq';
import { decode, encode, Signer } from './wire';
import { Session } from './session';
import {
  INTERRUPT_REQUESTED,
  INTERRUPT_BUSY,
  INTERRUPT_HONOURED,
  INTERRUPT_SCRIPT,
  INTERRUPT_SEEN,
  INTERRUPT_SIGNALLED,
  interruptCells,
  toBuffers,
  type FromWorker,
  type ToWorker,
  type WorkerConfig,
} from './control-protocol';
import { Outbox } from './outbox';

const config = workerData as WorkerConfig;
const port = parentPort;
if (!port) throw new Error('control-worker must run in a worker thread');
const signer = new Signer(config.key, config.signatureScheme);
const session = new Session();
const interrupts = interruptCells(config.interrupts);

function post(message: FromWorker): void {
  port?.postMessage(message);
}

/** How long a loop check gets to honour an interrupt before SIGINT is raised. */
const SIGNAL_DELAY_MS = 30;

/**
 * Raises SIGINT when interrupt `request` is still pending and cell script `script` is still
 * running synchronously: code without loop checks (a long library call) stops only that way. The
 * checks keep a late signal from stopping the next cell instead.
 */
function signalIfStuck(request: number, script: number): void {
  if (Atomics.load(interrupts, INTERRUPT_HONOURED) >= request) return;
  if (Atomics.load(interrupts, INTERRUPT_SCRIPT) !== script) return;
  Atomics.add(interrupts, INTERRUPT_SIGNALLED, 1);
  process.kill(config.pid, 'SIGINT');
}

/** How long the main thread may stay unreachable after an interrupt before the kernel is ended. */
export const STUCK_RESTART_MS = 5000;

/**
 * Ends the kernel when the main thread's event loop has not come back for STUCK_RESTART_MS after
 * interrupt `request` while it was neither compiling nor running a cell (where the loop checks and
 * SIGINT reach): it is stuck in code nothing can interrupt (a library loop in a callback, code made
 * with `eval`). The note tells the restarted kernel's first cell what happened; the Jupyter server
 * restarts a kernel whose process ended. Never a hung kernel whose heartbeat still answers.
 */
function restartIfStuck(request: number, since: number): void {
  if (Atomics.load(interrupts, INTERRUPT_SEEN) >= request) return;
  const busy = Atomics.load(interrupts, INTERRUPT_BUSY) === 1;
  if (busy || Date.now() - since < STUCK_RESTART_MS) {
    setTimeout(() => restartIfStuck(request, busy ? Date.now() : since), 500);
    return;
  }
  const text =
    `The kernel was restarted: an interrupt could not stop code running outside the cells' loops ` +
    `(a library call in a timer or event callback, or code built with eval / new Function) within ` +
    `${STUCK_RESTART_MS / 1000} s, so the process was ended. Variables are gone: run the cells you need again.`;
  try {
    if (config.restartNote)
      writeFileSync(config.restartNote, JSON.stringify({ text, at: new Date().toISOString() }));
  } catch {
    // the note is a courtesy; ending the stuck process is what matters
  }
  process.stderr.write(`[efflab-kernel] ${text}\n`);
  process.kill(config.pid, 'SIGKILL');
}

async function heartbeat(socket: Reply): Promise<void> {
  for await (const frames of socket) await socket.send(frames);
}

async function control(socket: Router, outbox: Outbox): Promise<void> {
  for await (const frames of socket) {
    const decoded = decode(frames, signer);
    if (!decoded.ok) {
      post({ kind: 'dropped', reason: `${decoded.reason}: ${decoded.detail}` });
      continue;
    }
    const { message } = decoded;
    if (message.header.msg_type === 'interrupt_request') {
      const request = Atomics.add(interrupts, INTERRUPT_REQUESTED, 1) + 1;
      const script = Atomics.load(interrupts, INTERRUPT_SCRIPT);
      if (script !== 0) setTimeout(() => signalIfStuck(request, script), SIGNAL_DELAY_MS);
      const since = Date.now();
      setTimeout(() => restartIfStuck(request, since), 500);
      outbox.push(encode(session.reply(message, { status: 'ok' }), signer));
      post({ kind: 'interrupted', frames: [...frames] });
      continue;
    }
    post({ kind: 'control', frames: [...frames] });
  }
}

async function main(): Promise<void> {
  const hb = new Reply({ linger: 0 });
  const ctl = new Router({ linger: 0, handover: true });
  await hb.bind(config.heartbeatAddress);
  await ctl.bind(config.controlAddress);
  const outbox = new Outbox(ctl, (e) => post({ kind: 'error', text: `control send: ${String(e)}` }));
  port?.on('message', (msg: ToWorker) => {
    if (msg.kind === 'send') outbox.push(toBuffers(msg.frames));
    else {
      hb.close();
      ctl.close();
    }
  });
  post({ kind: 'ready' });
  await Promise.all([heartbeat(hb), control(ctl, outbox)]).catch((e: unknown) => {
    if (!hb.closed || !ctl.closed) post({ kind: 'error', text: `control worker: ${String(e)}` });
  });
}

void main().catch((e: unknown) => post({ kind: 'error', text: `control worker start: ${String(e)}` }));
