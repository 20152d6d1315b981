/**
 * The native BLAS: OpenBLAS as built for numpy/scipy (the PyPI wheel `scipy-openblas32`, which
 * `npm run setup` installs into the project's .venv; its symbols carry the prefix `scipy_`), called
 * through the koffi FFI. Loaded lazily on first use, never at import; where the library or koffi is
 * missing the backend is unavailable with the reason and every GEMM stays on the wasm kernels.
 *
 * Where the library is: `EFFLAB_BLAS_LIB` (a path to a shared library exporting `scipy_cblas_sgemm`),
 * else `.venv/lib/python* /site-packages/scipy_openblas32/lib/libscipy_openblas*.so` under the repository.
 * Threads: OpenBLAS is loaded single-threaded. A large GEMM of 64+ rows on operands in ordinary memory
 * runs with OpenBLAS's own threads for that call (`EFFLAB_THREADS`, default the CPU count, at most 4); one on
 * operands in the shared wasm memory is split into parts over the wasm pool's threads, each part one
 * single-threaded OpenBLAS call (src/ops/native/sgemm.ts; the measurements in bench/README.md).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../data/paths';
import { BackendError } from '../../errors';
import type { BlasWhere } from '../wasm/pool';

export const BLAS_LIB_ENV = 'EFFLAB_BLAS_LIB';

/** CBLAS enum values (cblas.h). */
export const CBLAS_ROW_MAJOR = 101;
export const CBLAS_NO_TRANS = 111;
export const CBLAS_TRANS = 112;

/** C = alpha · op(A) · op(B) + beta · C (cblas_sgemm); pointers are Float32Array views. */
export type CblasSgemm = (
  order: number,
  transA: number,
  transB: number,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  lda: number,
  B: Float32Array,
  ldb: number,
  beta: number,
  C: Float32Array,
  ldc: number,
) => void;

/** The batched form with element strides between products (cblas_sgemm_batch_strided). */
export type CblasSgemmStrided = (
  order: number,
  transA: number,
  transB: number,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  lda: number,
  strideA: number,
  B: Float32Array,
  ldb: number,
  strideB: number,
  beta: number,
  C: Float32Array,
  ldc: number,
  strideC: number,
  batch: number,
) => void;

/** The loaded library. */
export interface NativeBlas {
  /** Path of the shared library. */
  readonly path: string;
  /** OpenBLAS's description of its build and the kernel core it chose (e.g. `Haswell`). */
  readonly config: string;
  readonly sgemm: CblasSgemm;
  /** Undefined where the library predates cblas_sgemm_batch_strided (OpenBLAS < 0.3.30). */
  readonly sgemmStrided: CblasSgemmStrided | undefined;
  /** Threads OpenBLAS uses per call (1: the wasm pool splits large products instead). */
  threads(): number;
  /** Set OpenBLAS's own thread count per call (1 … its build maximum; measurements only). */
  setThreads(n: number): void;
}

/** Where the library is: the env override, else the .venv wheel; undefined when neither exists. */
export function findBlasLibrary(): { path?: string; looked: string } {
  const env = process.env[BLAS_LIB_ENV];
  if (env) return { path: existsSync(env) ? env : undefined, looked: `${BLAS_LIB_ENV}=${env}` };
  let lib: string;
  try {
    lib = join(repoRoot(), '.venv', 'lib');
  } catch (e) {
    return { looked: (e as Error).message };
  }
  const looked = `${lib}/python*/site-packages/scipy_openblas32/lib/libscipy_openblas*.so`;
  if (!existsSync(lib)) return { looked };
  for (const py of readdirSync(lib).filter((d) => d.startsWith('python'))) {
    const dir = join(lib, py, 'site-packages', 'scipy_openblas32', 'lib');
    if (!existsSync(dir)) continue;
    const so = readdirSync(dir).find((f) => /^libscipy_openblas.*\.so(\.\d+)*$/.test(f));
    if (so) return { path: join(dir, so), looked };
  }
  return { looked };
}

/** The cblas_sgemm declaration koffi binds (blasint is a 32-bit int in scipy-openblas32). */
export const SGEMM_DECL =
  'void scipy_cblas_sgemm(int, int, int, int, int, int, float, float *, int, float *, int, float, float *, int)';

/** Where helper threads find koffi and the library (no loading here: two path look-ups), or undefined. */
export function blasWhere(): BlasWhere | undefined {
  const lib = findBlasLibrary().path;
  if (!lib) return undefined;
  try {
    return { koffi: require.resolve('koffi'), lib, decl: SGEMM_DECL };
  } catch {
    return undefined;
  }
}

interface KoffiLib {
  func(definition: string): (...args: unknown[]) => unknown;
}
interface Koffi {
  load(path: string): KoffiLib;
}

let state: NativeBlas | null | undefined;
let failure = '';

function open(): NativeBlas {
  const where = findBlasLibrary();
  if (!where.path) {
    throw new BackendError(
      `OpenBLAS not found (looked for ${where.looked}; \`npm run setup\` installs the PyPI wheel scipy-openblas32 into .venv)`,
    );
  }
  let koffi: Koffi;
  try {
    // Lazy: koffi loads its native addon; nothing is paid by a process that never asks for the native backend.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    koffi = require('koffi') as Koffi;
  } catch (e) {
    throw new BackendError(`the FFI package koffi did not load: ${(e as Error).message}`);
  }
  let lib: KoffiLib;
  // OpenBLAS sizes its thread pool from OPENBLAS_NUM_THREADS when it loads: 1 starts none. Restored
  // at once, so child processes (numpy baselines) keep their own default.
  const envThreads = process.env.OPENBLAS_NUM_THREADS;
  process.env.OPENBLAS_NUM_THREADS = '1';
  // Its threads spin 2^28 cycles (~0.1 s) after each threaded call before sleeping, taking a core from
  // the single-threaded ops and the wasm pool that run between the GEMMs. 2^18 (~0.1 ms) measured best
  // of 12/15/18/22/28 (prefill 128: 267 against 329 ms with the default). A value the user set is kept.
  const envTimeout = process.env.OPENBLAS_THREAD_TIMEOUT;
  if (envTimeout === undefined) process.env.OPENBLAS_THREAD_TIMEOUT = '18';
  try {
    lib = koffi.load(where.path);
  } catch (e) {
    throw new BackendError(`${where.path} did not load: ${(e as Error).message}`);
  } finally {
    if (envThreads === undefined) delete process.env.OPENBLAS_NUM_THREADS;
    else process.env.OPENBLAS_NUM_THREADS = envThreads;
    if (envTimeout === undefined) delete process.env.OPENBLAS_THREAD_TIMEOUT;
  }
  const sgemm = lib.func(SGEMM_DECL) as unknown as CblasSgemm;
  let sgemmStrided: CblasSgemmStrided | undefined;
  try {
    sgemmStrided = lib.func(
      'void scipy_cblas_sgemm_batch_strided(int, int, int, int, int, int, float, float *, int, int, float *, int, int, float, float *, int, int, int)',
    ) as unknown as CblasSgemmStrided;
  } catch {
    sgemmStrided = undefined;
  }
  const setThreads = lib.func('void scipy_openblas_set_num_threads(int)') as (n: number) => void;
  const getThreads = lib.func('int scipy_openblas_get_num_threads()') as () => number;
  const getConfig = lib.func('const char *scipy_openblas_get_config()') as () => string;
  const getCore = lib.func('const char *scipy_openblas_get_corename()') as () => string;
  setThreads(1);
  return {
    path: where.path,
    config: `${getConfig()} (core ${getCore()})`,
    sgemm,
    sgemmStrided,
    threads: getThreads,
    setThreads: (n: number) => setThreads(Math.max(1, Math.floor(n))),
  };
}

/** The library (loaded on first call), or undefined where it cannot load; see `nativeUnavailableReason`. */
export function nativeBlas(): NativeBlas | undefined {
  if (state === undefined) {
    try {
      state = open();
    } catch (e) {
      failure = (e as Error).message;
      state = null;
    }
  }
  return state ?? undefined;
}

/** Why the native BLAS cannot run here, or undefined when it can. */
export function nativeUnavailableReason(): string | undefined {
  return nativeBlas() ? undefined : failure;
}
