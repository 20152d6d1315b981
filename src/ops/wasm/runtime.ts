/**
 * The wasm runtime: one shared WebAssembly memory for the process (the arena, where weights can live
 * so kernels read them in place), the kernel module instantiated on it, and the helper threads.
 *
 * Relaxed SIMD (`f32x4.relaxed_madd`, a fused multiply-add on CPUs with FMA) is behind
 * `--experimental-wasm-relaxed-simd` in Node 20 (V8 11.3); the flag is set with `v8.setFlagsFromString`
 * before the module is compiled, and where the FMA module still does not compile (other runtimes) the
 * portable mul + add module is used. `EFFLAB_WASM_FMA=0` forces the portable one.
 */
import { setFlagsFromString } from 'node:v8';
import { BackendError } from '../../errors';
import { WasmArena } from './arena';
import { GEMM_FMA_WASM_BASE64, GEMM_WASM_BASE64 } from './kernels-bytes';
import { blasWhere, nativeBlas } from '../native/lib';
import { BLAS_JOB, JOB_EXPORTS, KernelPool, blasGemmJob, threadCount, type JobName } from './pool';
import { wasmApi } from './wasm-api';

export const FMA_ENV = 'EFFLAB_WASM_FMA';
const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';

type WasmFn = (...a: number[]) => void;

/** Single-threaded exports of the module: the row and elementwise kernels. */
export const ELEMENTWISE_EXPORTS = [
  'silu',
  'swiglu',
  'gelu',
  'rmsnorm',
  'layernorm',
  'softmaxRow',
  'softmaxRowsCausal',
  'attnRows',
  'ropeHalf',
  'quantI16',
  'rng24',
] as const;
export type ElementwiseName = (typeof ELEMENTWISE_EXPORTS)[number];

/** A kernel module on the shared memory, with its threads. */
export interface WasmKernels {
  /** Whether the module uses relaxed-SIMD fused multiply-add. */
  readonly fma: boolean;
  /** Threads a call may use (the caller included). */
  readonly threads: number;
  /** Micro-kernel tile: MR rows × NR columns. */
  readonly mr: number;
  readonly nr: number;
  readonly arena: WasmArena;
  /** The exports, called on this thread. */
  readonly fn: Record<JobName, WasmFn>;
  /** The row and elementwise kernels (gen-elementwise.ts), called on this thread only. */
  readonly ew: Record<ElementwiseName, WasmFn>;
  readonly pool: KernelPool;
  /** Stop the helper threads (the default kernels are never closed). */
  close(): void;
}

let arena: WasmArena | undefined;
let fmaState: boolean | undefined;

/** The process-wide shared memory arena (throws BackendError where WebAssembly is missing). */
export function wasmArena(): WasmArena {
  arena ??= new WasmArena();
  return arena;
}

function bytesOf(fma: boolean): Uint8Array {
  return new Uint8Array(Buffer.from(fma ? GEMM_FMA_WASM_BASE64 : GEMM_WASM_BASE64, 'base64'));
}

/** Whether the relaxed-SIMD module compiles here (sets the V8 flag first, once). */
export function relaxedSimdAvailable(): boolean {
  if (fmaState !== undefined) return fmaState;
  const api = wasmApi();
  if (!api) return (fmaState = false);
  try {
    new api.Module(bytesOf(true));
    return (fmaState = true);
  } catch {
    /* not enabled yet: set the flag and retry */
  }
  try {
    setFlagsFromString(RELAXED_FLAG);
    new api.Module(bytesOf(true));
    fmaState = true;
  } catch {
    fmaState = false;
  }
  return fmaState;
}

/**
 * A kernel module with its threads. fma: relaxed-SIMD FMA (default: where it compiles, unless
 * EFFLAB_WASM_FMA=0); threads: default EFFLAB_THREADS or the CPU count (at most 4); steal: false makes
 * helpers run every job they are given even when the caller could take it back (tests).
 */
export function createKernels(opts: { fma?: boolean; threads?: number; steal?: boolean } = {}): WasmKernels {
  const api = wasmApi();
  if (!api) throw new BackendError('wasm: no WebAssembly in this runtime');
  const wantFma = opts.fma ?? process.env[FMA_ENV] !== '0';
  const fma = wantFma && relaxedSimdAvailable();
  if (opts.fma === true && !fma) {
    throw new BackendError(`wasm: relaxed SIMD (${RELAXED_FLAG}) is not available in this runtime`);
  }
  const threads = opts.threads ?? threadCount();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new BackendError(`wasm: threads must be a positive integer, got ${threads}`);
  }
  const mem = wasmArena();
  const bytes = bytesOf(fma);
  const module = new api.Module(bytes);
  const inst = new api.Instance(module, { env: { mem: mem.memory } });
  const fn = {} as Record<JobName, WasmFn>;
  for (const name of JOB_EXPORTS) fn[name] = inst.exports[name] as WasmFn;
  // The native backend's GEMM part on this thread (only ever sent once OpenBLAS has loaded).
  fn[BLAS_JOB] = (...a: number[]) => {
    const blas = nativeBlas();
    if (!blas) throw new BackendError('native: a GEMM part was sent but OpenBLAS is not loaded');
    blasGemmJob(blas.sgemm as unknown as Parameters<typeof blasGemmJob>[0], mem.memory.buffer, a);
  };
  const ew = {} as Record<ElementwiseName, WasmFn>;
  for (const name of ELEMENTWISE_EXPORTS) ew[name] = inst.exports[name] as WasmFn;
  const global = (n: string): number => (inst.exports[n] as { value: number }).value;
  const pool = new KernelPool(mem.memory, module, threads, fn, opts.steal ?? true, blasWhere());
  return {
    fma,
    get threads() {
      return pool.threads;
    },
    mr: global('MR'),
    nr: global('NR'),
    arena: mem,
    fn,
    ew,
    pool,
    close: () => pool.close(),
  };
}

let defaults: WasmKernels | null | undefined;
let failure = '';

/** The default kernels (created on first use), or undefined where wasm cannot run here. */
export function wasmKernels(): WasmKernels | undefined {
  if (defaults === undefined) {
    try {
      defaults = createKernels();
    } catch (e) {
      failure = (e as Error).message;
      defaults = null;
    }
  }
  return defaults ?? undefined;
}

/** Why the wasm kernels cannot run here, or undefined when they can. */
export function wasmUnavailableReason(): string | undefined {
  return wasmKernels() ? undefined : `WebAssembly SIMD with shared memory unavailable: ${failure}`;
}

/** The default kernels, or a BackendError saying why there are none. */
export function requireKernels(): WasmKernels {
  const k = wasmKernels();
  if (!k) throw new BackendError(`wasm backend: ${wasmUnavailableReason()}`);
  return k;
}
