/**
 * Synchronous multi-threaded calls of the wasm kernels. Helper worker threads instantiate the same
 * compiled module (passed to them, not recompiled: V8 shares its code, so the optimised tier the
 * hot kernels reach serves every thread) on the same shared memory; a call hands each helper one job (an export name and its numeric
 * arguments) through a SharedArrayBuffer, runs its own share on the calling thread, then waits with
 * Atomics for the helpers, so the public API stays synchronous. A helper spins briefly after each job
 * before it sleeps, which keeps the hand-over of back-to-back small calls (decode) in microseconds; a
 * job no helper has started by the time the caller is done with its own is run by the caller, so a
 * helper that the OS has not scheduled (a loaded machine) delays nothing.
 * The same pool runs the native backend's GEMM parts (job `blasGemm`: one single-threaded OpenBLAS
 * sgemm on operands in the shared memory, see src/ops/native/sgemm.ts): a helper loads koffi and the
 * library on its first such job, so one set of threads, with the same take-back, serves both engines.
 * Threads: `EFFLAB_THREADS` (default: the CPU count, at most 4); 1 disables the helpers.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { BackendError, ConfigError } from '../../errors';
import type { WasmMemory } from './wasm-api';

export const THREADS_ENV = 'EFFLAB_THREADS';

/** Exports a job may name (index = job code). */
export const JOB_EXPORTS = [
  'gemm',
  'dotNT',
  'q8_0',
  'q4_1',
  'deq8_0',
  'deq4_1',
  'q8_0_i16',
  'q4_1_i16',
  'attnRows',
  'gelu',
  'layernorm',
  'swiglu',
  'softmaxRowsCausal',
] as const;
/** The job that runs one OpenBLAS sgemm part (not a wasm export; see `blasGemmJob`). */
export const BLAS_JOB = 'blasGemm';
export type JobName = (typeof JOB_EXPORTS)[number] | typeof BLAS_JOB;
/** Every job a helper can run (index = job code). */
const JOB_NAMES: readonly JobName[] = [...JOB_EXPORTS, BLAS_JOB];

/**
 * Arguments of a `blasGemm` job (element sizes; pointers are byte offsets into the shared memory):
 * transA, transB (0/1), M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, batch, strideA, strideB, strideC.
 * The body is shared by the helpers (as source) and the calling thread (`blasGemmJob`).
 */
const BLAS_JOB_BODY = `(gemm, buffer, a) => {
  const [tA, tB, M, N, K, alpha, pA, lda, pB, ldb, beta, pC, ldc, batch, sA, sB, sC] = a;
  for (let i = 0; i < batch; i++) {
    gemm(101, tA ? 112 : 111, tB ? 112 : 111, M, N, K, alpha,
      new Float32Array(buffer, pA + 4 * i * sA), lda, new Float32Array(buffer, pB + 4 * i * sB), ldb,
      beta, new Float32Array(buffer, pC + 4 * i * sC), ldc);
  }
}`;

/** cblas_sgemm as koffi binds it (pointers as Float32Array views). */
export type CblasGemmFn = (...a: (number | Float32Array)[]) => void;

/** Run a `blasGemm` job on this thread with `gemm` on the memory `buffer`. */
export const blasGemmJob = new Function(`return ${BLAS_JOB_BODY}`)() as (
  gemm: CblasGemmFn,
  buffer: ArrayBufferLike,
  args: number[],
) => void;

/** Where a helper finds OpenBLAS for `blasGemm` jobs: koffi's module path and the library's. */
export interface BlasWhere {
  koffi: string;
  lib: string;
  /** The cblas_sgemm declaration to bind. */
  decl: string;
}

/**
 * Int32 control words: [0] job seq, [1] done seq, [2] export index, [3] stop, [4] argc, [5] error,
 * [6] claim (0 posted, 1 taken by the helper, 2 taken back by the caller).
 */
const CTRL_INTS = 8;
const MAX_ARGS = 24;
const SPIN = 20000;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, module, ctrl, args, names, blas } = workerData;
const ex = new WebAssembly.Instance(module, { env: { mem: memory } }).exports;
const blasBody = ${BLAS_JOB_BODY};
let gemm;
const blasGemm = (...a) => {
  if (!gemm) gemm = require(blas.koffi).load(blas.lib).func(blas.decl);
  blasBody(gemm, memory.buffer, a);
};
const fns = names.map((n) => (n === '${BLAS_JOB}' ? blasGemm : ex[n]));
const c = new Int32Array(ctrl);
const a = new Float64Array(args);
let seen = 0;
for (;;) {
  for (let i = 0; i < ${SPIN} && Atomics.load(c, 0) === seen; i++);
  Atomics.wait(c, 0, seen);
  seen = Atomics.load(c, 0);
  if (c[3] === 1) break;
  // The caller takes the job back when it finishes first and the helper has not started (a helper
  // descheduled on a busy machine then costs nothing).
  if (Atomics.compareExchange(c, 6, 0, 1) === 0) try {
    const n = c[4];
    fns[c[2]](...Array.from(a.subarray(0, n)));
    c[5] = 0;
  } catch (e) {
    c[5] = 1;
  }
  Atomics.store(c, 1, seen);
  Atomics.notify(c, 1);
}
`;

interface Helper {
  worker: Worker;
  ctrl: Int32Array;
  args: Float64Array;
}

/** One job: an export and its arguments (integers and float32 values). */
export interface Job {
  name: JobName;
  args: number[];
}

type WasmFn = (...a: number[]) => void;

/** Splits kernel calls over the calling thread and helper workers. */
export class KernelPool {
  private helpers: Helper[] = [];
  private broken = false;
  /** Whether helpers can run `blasGemm` jobs (they were told where OpenBLAS is). */
  readonly blasHelpers: boolean;

  constructor(
    memory: WasmMemory,
    /** The compiled kernel module, shared with the helpers (one compilation, one tier-up for all). */
    module: object,
    threads: number,
    private readonly local: Record<JobName, WasmFn>,
    /** Whether the caller may take back a job no helper has started (off only to test the helpers). */
    private readonly steal = true,
    /** Where helpers find OpenBLAS for `blasGemm` jobs (undefined: no such jobs are sent). */
    blas?: BlasWhere,
  ) {
    this.blasHelpers = blas !== undefined;
    for (let i = 1; i < threads; i++) {
      const ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL_INTS));
      const args = new Float64Array(new SharedArrayBuffer(8 * MAX_ARGS));
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          memory,
          module,
          ctrl: ctrl.buffer,
          args: args.buffer,
          names: [...JOB_NAMES],
          blas,
        },
      });
      worker.unref();
      worker.on('error', () => {
        this.broken = true;
      });
      this.helpers.push({ worker, ctrl, args });
    }
  }

  /** Threads in use (the caller included). */
  get threads(): number {
    return this.broken ? 1 : this.helpers.length + 1;
  }

  /**
   * Run jobs[0] here and jobs[1..] on helpers, all at once; returns when every job has finished.
   * At most `threads` jobs. A helper that dies or hangs has its job redone here. `own`, when given,
   * runs here instead of jobs[0] (the caller's share on operands outside the shared memory; jobs[0]
   * then only names it in errors).
   */
  run(jobs: Job[], own?: () => void): void {
    if (jobs.length > this.threads) {
      throw new ConfigError(`KernelPool.run: ${jobs.length} jobs for ${this.threads} threads`);
    }
    const seqs: number[] = [];
    for (let i = 1; i < jobs.length; i++) {
      const h = this.helpers[i - 1];
      const { name, args } = jobs[i];
      if (args.length > MAX_ARGS) throw new ConfigError(`KernelPool.run: ${args.length} arguments`);
      h.args.set(args);
      h.ctrl[2] = JOB_NAMES.indexOf(name);
      h.ctrl[4] = args.length;
      h.ctrl[5] = 0;
      Atomics.store(h.ctrl, 6, 0);
      const seq = (Atomics.load(h.ctrl, 0) + 1) | 0;
      seqs.push(seq);
      Atomics.store(h.ctrl, 0, seq);
      Atomics.notify(h.ctrl, 0);
    }
    // A trap here must not return before the helpers are done with the shared scratch memory.
    let trapped: unknown;
    try {
      if (own) own();
      else if (jobs.length > 0) this.local[jobs[0].name](...jobs[0].args);
    } catch (e) {
      trapped = e;
    }
    let failed = false;
    for (let i = 1; i < jobs.length; i++) {
      const h = this.helpers[i - 1];
      if (this.steal && Atomics.compareExchange(h.ctrl, 6, 0, 2) === 0) {
        if (trapped === undefined) {
          try {
            this.local[jobs[i].name](...jobs[i].args);
          } catch (e) {
            trapped = e;
          }
        }
        continue;
      }
      const deadline = Date.now() + 60000;
      let done = Atomics.load(h.ctrl, 1);
      for (let s = 0; s < SPIN && done !== seqs[i - 1]; s++) done = Atomics.load(h.ctrl, 1);
      while (done !== seqs[i - 1]) {
        Atomics.wait(h.ctrl, 1, done, 500);
        done = Atomics.load(h.ctrl, 1);
        if (done !== seqs[i - 1] && (Date.now() > deadline || this.broken)) {
          // A helper died or hung: do its job here and stop using helpers.
          this.broken = true;
          this.local[jobs[i].name](...jobs[i].args);
          break;
        }
      }
      if (h.ctrl[5] === 1) failed = true;
    }
    if (trapped !== undefined) {
      throw new BackendError(
        `wasm kernel '${jobs[0].name}' trapped: ${(trapped as Error).message ?? String(trapped)}`,
      );
    }
    if (failed) throw new BackendError(`wasm kernel '${jobs[1].name}' trapped in a helper thread`);
  }

  /** Stop the helper threads. */
  close(): void {
    for (const h of this.helpers) {
      Atomics.store(h.ctrl, 3, 1);
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
      throw new ConfigError(`${THREADS_ENV}=${env}: expected a positive integer`);
    return n;
  }
  return Math.max(1, Math.min(4, availableParallelism()));
}
