/**
 * Two-thread (or more) execution of the SIMD linear kernel: helper worker threads instantiate the same
 * wasm module on the same shared memory and each computes a slice of the output columns while the
 * calling thread computes the first slice, so the public API stays synchronous. Jobs are handed over
 * through a small SharedArrayBuffer with Atomics.wait/notify. Threads: `EFFLAB_THREADS` (default: the
 * machine's CPU count, at most 4); 1 disables the helpers.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { WasmMemory } from './wasm-api';

export const THREADS_ENV = 'EFFLAB_THREADS';

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, bytes, ctrl } = workerData;
const linear = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: memory } }).exports.linear;
const c = new Int32Array(ctrl);
let seen = 0;
for (;;) {
  Atomics.wait(c, 0, seen);
  seen = Atomics.load(c, 0);
  if (c[11] === 1) break;
  linear(c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10]);
  Atomics.store(c, 1, seen);
  Atomics.notify(c, 1);
}
`;

/** Control block layout (Int32): [0] job seq, [1] done seq, [2..10] kernel args, [11] stop flag. */
const CTRL_INTS = 12;

interface Helper {
  worker: Worker;
  ctrl: Int32Array;
}

export type LinearKernel = (
  x: number,
  w: number,
  b: number,
  out: number,
  M: number,
  K: number,
  N: number,
  j0: number,
  j1: number,
) => void;

/** Splits linear-kernel calls over the calling thread and helper workers. */
export class LinearPool {
  private helpers: Helper[] = [];
  private broken = false;

  constructor(memory: WasmMemory, bytes: Uint8Array, threads: number) {
    for (let i = 1; i < threads; i++) {
      const ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL_INTS));
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { memory, bytes, ctrl: ctrl.buffer },
      });
      worker.unref();
      worker.on('error', () => {
        this.broken = true;
      });
      this.helpers.push({ worker, ctrl });
    }
  }

  /** Threads in use (the caller included). */
  get threads(): number {
    return this.broken ? 1 : this.helpers.length + 1;
  }

  /** Run the kernel for all N output columns, split across threads when the work is large enough. */
  run(
    kernel: LinearKernel,
    x: number,
    w: number,
    b: number,
    out: number,
    M: number,
    K: number,
    N: number,
  ): void {
    const parts = this.threads;
    if (parts === 1 || M * K * N < 1 << 18 || N < 2 * parts) {
      kernel(x, w, b, out, M, K, N, 0, N);
      return;
    }
    const per = Math.ceil(N / parts);
    const seqs: number[] = [];
    this.helpers.forEach((h, i) => {
      const j0 = (i + 1) * per;
      const j1 = Math.min(N, j0 + per);
      h.ctrl.set([x, w, b, out, M, K, N, j0, j1 > j0 ? j1 : j0], 2);
      const seq = (Atomics.load(h.ctrl, 0) + 1) | 0;
      seqs.push(seq);
      Atomics.store(h.ctrl, 0, seq);
      Atomics.notify(h.ctrl, 0);
    });
    kernel(x, w, b, out, M, K, N, 0, Math.min(per, N));
    this.helpers.forEach((h, i) => {
      const deadline = Date.now() + 30000;
      while (Atomics.load(h.ctrl, 1) !== seqs[i]) {
        const done = Atomics.load(h.ctrl, 1);
        if (done === seqs[i]) break;
        Atomics.wait(h.ctrl, 1, done, 1000);
        if (Date.now() > deadline || this.broken) {
          // A helper died or hung: finish its slice here and stop using helpers.
          this.broken = true;
          const j0 = (i + 1) * per;
          kernel(x, w, b, out, M, K, N, j0, Math.max(j0, Math.min(N, j0 + per)));
          break;
        }
      }
    });
  }

  /** Stop the helper threads. */
  close(): void {
    for (const h of this.helpers) {
      Atomics.store(h.ctrl, 11, 1);
      Atomics.add(h.ctrl, 0, 1);
      Atomics.notify(h.ctrl, 0);
    }
    this.helpers = [];
  }
}

/** Threads to use: EFFLAB_THREADS, else the CPU count capped at 4. */
export function threadCount(): number {
  const env = process.env[THREADS_ENV];
  if (env !== undefined) {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1)
      throw new RangeError(`${THREADS_ENV}=${env}: expected a positive integer`);
    return n;
  }
  return Math.max(1, Math.min(4, availableParallelism()));
}
