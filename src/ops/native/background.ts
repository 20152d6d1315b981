/**
 * One background thread that rebuilds low-rank keys (appendix H.1, Eq. 5.6) while the caller goes on:
 * out[s] = RoPE_s(C[s] · V_cᵀ) for rows 0..rows−1, the product on OpenBLAS (the same library and
 * routine as the native backend's GEMM) and the rotation ('half' pairing) by the module's SIMD
 * `ropeHalf` kernel (an instance of the kernel module on the same shared memory, as the pool's helpers
 * have), i.e. the same two steps `reconstructRope` runs in place.
 *
 * Why: a decode step's products are matrix-vector products run on one thread and bound by reading
 * weights, so the second core idles through most of a step, while the LoRC cache must rebuild every
 * held key of each compressed layer (N·d_c·Hkv·D multiply-adds). The rows of past positions do not
 * depend on the current token, so the cache posts the next layer's rebuild here and only the newest
 * row is left for the attention call (src/methods/lorc/cache.ts).
 *
 * Every operand must live in the wasm arena (the thread reads and writes it in place). One job at a
 * time: a new post first waits for the one in flight. Where the thread cannot run (no OpenBLAS, no
 * arena, a worker error) `postReconstructRope` returns undefined and the caller rebuilds in place.
 */
import { Worker } from 'node:worker_threads';
import { blasWhere, nativeBlas } from '../native/lib';
import { gemmRoute } from '../gemm-route';
import { GEMM_WASM_BASE64 } from '../wasm/kernels-bytes';
import { wasmKernels } from '../wasm/runtime';

/**
 * Control words: [0] posted seq, [1] done seq, [2] error flag, [3] stop, [4] claim (0 posted, 1 taken
 * by the thread, 2 taken back by the caller: a job the thread has not started when it is needed is
 * rebuilt by the caller instead of waited for, so a starved thread costs no more than no thread),
 * [5] ready.
 */
const CTRL_INTS = 6;
/** Control word the thread sets to 1 once OpenBLAS and the kernel module are loaded. */
const READY = 5;
const ARGS = 12;
/** Spins before the waiting thread sleeps (a job is usually done before it is waited for). */
const SPIN = 2000;
/** A job not finished after this long marks the thread broken (the caller then rebuilds itself). */
const TIMEOUT_MS = 60000;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, ctrl, args, blas, wasm } = workerData;
const gemm = require(blas.koffi).load(blas.lib).func(blas.decl);
const rope = new WebAssembly.Instance(new WebAssembly.Module(wasm), { env: { mem: memory } }).exports.ropeHalf;
const c = new Int32Array(ctrl);
const a = new Float64Array(args);
Atomics.store(c, ${READY}, 1);
Atomics.notify(c, ${READY});
let seen = 0;
for (;;) {
  Atomics.wait(c, 0, seen);
  seen = Atomics.load(c, 0);
  if (c[3] === 1) break;
  if (Atomics.compareExchange(c, 4, 0, 1) === 0) try {
    const [pC, pV, pCos, pSin, pOut, rows, dc, Hkv, D] = a;
    const width = Hkv * D;
    const buf = memory.buffer;
    gemm(101, 111, 112, rows, width, dc, 1, new Float32Array(buf, pC), dc, new Float32Array(buf, pV), dc,
      0, new Float32Array(buf, pOut), width);
    rope(pOut, pCos, pSin, pOut, rows, Hkv, D);
    c[2] = 0;
  } catch (e) {
    c[2] = 1;
  }
  Atomics.store(c, 1, seen);
  Atomics.notify(c, 1);
}
`;

/** A rebuild in flight: `wait()` returns true once its rows are written, false if they were not. */
export interface PendingKeys {
  wait(): boolean;
}

interface Thread {
  worker: Worker;
  ctrl: Int32Array;
  args: Float64Array;
  pending: { seq: number; settled: boolean; ok: boolean } | undefined;
  broken: boolean;
}

let thread: Thread | null | undefined;

function start(): Thread | null {
  const k = wasmKernels();
  const where = blasWhere();
  if (!k || !where || !nativeBlas()) return null;
  try {
    const ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL_INTS));
    const args = new Float64Array(new SharedArrayBuffer(8 * ARGS));
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        memory: k.arena.memory,
        ctrl: ctrl.buffer,
        args: args.buffer,
        blas: where,
        wasm: Buffer.from(GEMM_WASM_BASE64, 'base64'),
      },
    });
    worker.unref();
    const t: Thread = { worker, ctrl, args, pending: undefined, broken: false };
    worker.on('error', () => {
      t.broken = true;
    });
    return t;
  } catch {
    return null;
  }
}

/** Wait for the job in flight (if any); its result (true: rows written). */
function settle(t: Thread): boolean {
  const p = t.pending;
  if (!p || p.settled) return p?.ok ?? true;
  p.settled = true;
  if (Atomics.compareExchange(t.ctrl, 4, 0, 2) === 0) {
    // Not started: taken back (the caller rebuilds the rows). The thread skips it whenever it wakes;
    // a later post resets the claim word after its arguments, so the thread only ever runs that one.
    p.ok = false;
    return false;
  }
  let done = Atomics.load(t.ctrl, 1);
  for (let i = 0; i < SPIN && done !== p.seq; i++) done = Atomics.load(t.ctrl, 1);
  const deadline = Date.now() + TIMEOUT_MS;
  while (done !== p.seq) {
    Atomics.wait(t.ctrl, 1, done, 200);
    done = Atomics.load(t.ctrl, 1);
    if (done !== p.seq && (t.broken || Date.now() > deadline)) {
      t.broken = true;
      break;
    }
  }
  p.ok = done === p.seq && t.ctrl[2] === 0;
  return p.ok;
}

/**
 * Start the background thread now and wait (up to 10 s) until it has loaded OpenBLAS and the kernel
 * module, so the first rebuild posted does not pay for the start (a decode loop calls this through
 * the cache's `reserve`). False where it cannot run (then rebuilds run in place).
 */
export function warmBackground(): boolean {
  if (gemmRoute() !== 'native') return false;
  if (thread === undefined) thread = start();
  const t = thread;
  if (!t) return false;
  const deadline = Date.now() + 10000;
  while (Atomics.load(t.ctrl, READY) !== 1 && !t.broken && Date.now() < deadline)
    Atomics.wait(t.ctrl, READY, 0, 50);
  return Atomics.load(t.ctrl, READY) === 1 && !t.broken;
}

/** Arena operands of a background rebuild (see `postReconstructRope`). */
export interface BackgroundKeysJob {
  /** Compressed keys, `rows` rows of d_c floats. */
  c: Float32Array;
  /** V_c [Hkv·D, d_c]. */
  basis: Float32Array;
  /** RoPE tables of positions 0..rows−1 (D/2 floats per row). */
  cos: Float32Array;
  sin: Float32Array;
  /** Output: rows × Hkv·D floats. */
  out: Float32Array;
  rows: number;
  dc: number;
  Hkv: number;
  D: number;
}

/**
 * Start rebuilding rotated keys on the background thread (see the module comment); undefined when it
 * cannot (the selected backend is not `native`, no OpenBLAS or wasm arena, an operand outside the
 * arena, the thread broken), so the caller
 * rebuilds them itself. Waits first for a job still in flight.
 */
export function postReconstructRope(job: BackgroundKeysJob): PendingKeys | undefined {
  const { c, basis, cos, sin, out, rows, dc, Hkv, D } = job;
  if (gemmRoute() !== 'native') return undefined;
  if (thread === undefined) thread = start();
  const t = thread;
  if (!t || t.broken || rows <= 0) return undefined;
  const k = wasmKernels();
  const width = Hkv * D;
  const half = D / 2;
  if (
    !k ||
    c.length < rows * dc ||
    basis.length < width * dc ||
    cos.length < rows * half ||
    sin.length < rows * half ||
    out.length < rows * width ||
    ![c, basis, cos, sin, out].every((x) => k.arena.owns(x))
  )
    return undefined;
  settle(t);
  if (t.broken) return undefined;
  t.args.set([
    c.byteOffset,
    basis.byteOffset,
    cos.byteOffset,
    sin.byteOffset,
    out.byteOffset,
    rows,
    dc,
    Hkv,
    D,
  ]);
  t.ctrl[2] = 0;
  Atomics.store(t.ctrl, 4, 0);
  const seq = (Atomics.load(t.ctrl, 0) + 1) | 0;
  const p = { seq, settled: false, ok: false };
  t.pending = p;
  Atomics.store(t.ctrl, 0, seq);
  Atomics.notify(t.ctrl, 0);
  return {
    wait: () => {
      if (t.pending !== p) return p.ok;
      return settle(t);
    },
  };
}

/** Wait for the background job in flight, if any (e.g. before its output buffer is reused). */
export function settleBackground(): void {
  if (thread) settle(thread);
}

/** Whether no background job is still running or waiting to start (tests pace themselves with it). */
export function backgroundIdle(): boolean {
  const t = thread;
  const p = t?.pending;
  if (!t || !p || p.settled) return true;
  return Atomics.load(t.ctrl, 1) === p.seq;
}

/** Whether the background thread has failed or cannot start (then every rebuild runs in place). */
export function backgroundBroken(): boolean {
  if (thread === undefined) return false;
  return thread === null || thread.broken;
}
