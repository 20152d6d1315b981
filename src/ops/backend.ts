/**
 * Compute backends: which gpu.js mode runs the kernels, chosen automatically or by the user.
 *
 * Order of preference (auto): `headlessgl` (WebGL on the GPU through headless-gl; Mesa under Xvfb on a
 * machine without a GPU) → `webasm` (WebAssembly with SIMD) → `cpu` (transpiled JavaScript).
 * Override with `setBackend(name)` or the environment variable `EFFLAB_BACKEND`.
 * Compiled kernels are cached per backend, kernel name and the shape constants they were built for.
 */
import {
  GPU,
  utils as gpuUtils,
  type IKernelRunShortcut,
  type IGPUKernelSettings,
  type KernelFunction,
} from 'gpu.js';
import { BackendError } from './errors';
import type { KernelThis } from './kernel-this';

export type BackendName = 'headlessgl' | 'webasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['headlessgl', 'webasm', 'cpu'];

/** Environment variable that forces a backend (`headlessgl`, `webasm`, `cpu` or `auto`). */
export const BACKEND_ENV = 'EFFLAB_BACKEND';

const gpus = new Map<BackendName, GPU>();
const kernelCache = new Map<string, IKernelRunShortcut>();
let selected: BackendName | undefined;
let lastRan: BackendName | undefined;

/** Why a backend cannot start here, or undefined if it can. */
export function backendUnavailableReason(name: BackendName): string | undefined {
  if (name === 'headlessgl') {
    if (!GPU.isHeadlessGLSupported) {
      const display = process.env.DISPLAY;
      return display
        ? `headless-gl could not create a WebGL context on DISPLAY=${display} (is the native 'gl' module built and Mesa installed?)`
        : 'headless-gl needs an X display: DISPLAY is unset (run under `xvfb-run -a`)';
    }
    return undefined;
  }
  if (name === 'webasm') {
    return GPU.isWebAssemblySupported ? undefined : 'WebAssembly is not supported by this runtime';
  }
  return undefined;
}

/** The backends that can run here, best first. */
export function availableBackends(): BackendName[] {
  return BACKENDS.filter((b) => backendUnavailableReason(b) === undefined);
}

function parseBackend(name: string, source: string): BackendName | 'auto' {
  if (name === 'auto' || (BACKENDS as readonly string[]).includes(name)) return name as BackendName | 'auto';
  throw new BackendError(
    `${source}: unknown backend '${name}' (expected one of ${BACKENDS.join(', ')}, auto)`,
  );
}

function autoBackend(): BackendName {
  return availableBackends()[0] ?? 'cpu';
}

/** Select the backend every following op runs on; `'auto'` restores automatic choice. */
export function setBackend(name: BackendName | 'auto'): BackendName {
  const parsed = parseBackend(name, 'setBackend');
  if (parsed === 'auto') {
    selected = autoBackend();
    return selected;
  }
  const why = backendUnavailableReason(parsed);
  if (why) throw new BackendError(`setBackend('${parsed}'): backend unavailable: ${why}`);
  selected = parsed;
  return selected;
}

/** The backend ops will use (resolving `EFFLAB_BACKEND` or auto-selection on first use). */
export function getBackend(): BackendName {
  if (selected === undefined) {
    const env = process.env[BACKEND_ENV];
    setBackend(env ? parseBackend(env, BACKEND_ENV) : 'auto');
  }
  return selected as BackendName;
}

/** The backend that actually executed the most recent kernel (after any gpu.js fallback). */
export function lastBackendRan(): BackendName | undefined {
  return lastRan;
}

/** Run `fn` with another backend selected, restoring the previous choice afterwards. */
export function withBackend<T>(name: BackendName, fn: () => T): T {
  const previous = selected;
  setBackend(name);
  try {
    return fn();
  } finally {
    selected = previous;
  }
}

function gpuFor(name: BackendName): GPU {
  let gpu = gpus.get(name);
  if (!gpu) {
    gpu = new GPU({ mode: name });
    gpus.set(name, gpu);
  }
  return gpu;
}

export interface KernelSpec<C extends object = Record<string, number>> {
  /** Stable name of the kernel family, e.g. `matmul`. */
  name: string;
  /** The gpu.js kernel function (a plain `function`, never an arrow). */
  fn: (this: KernelThis<C>, ...args: number[][]) => number | number[];
  /** The kernel returns four values per output cell (gpu.js `Array(4)`), laid out innermost. */
  vec4?: boolean;
  /** Output extent [x, y?, z?] as gpu.js expects it (x varies fastest). */
  output: number[];
  /** Compile-time constants (loop bounds, sizes). Part of the cache key. */
  constants?: C;
  /** Maximum loop iterations for GL loops whose bound is not a constant. */
  loopMaxIterations?: number;
  /** Helper functions the kernel calls (plain `function` declarations). */
  functions?: ((...args: number[]) => number)[];
}

function cacheKey<C extends object>(backend: BackendName, spec: KernelSpec<C>): string {
  const c = (spec.constants ?? {}) as Record<string, number>;
  const consts = Object.keys(c)
    .sort()
    .map((k) => `${k}=${c[k]}`)
    .join(',');
  return `${backend}|${spec.name}|${spec.output.join('x')}|${consts}`;
}

/** Map gpu.js's own notion of the mode that ran to our backend names. */
function ranOn(kernel: IKernelRunShortcut, requested: BackendName): BackendName {
  const inner = (kernel as unknown as { kernel?: { constructor?: { mode?: string } } }).kernel;
  const mode = inner?.constructor?.mode;
  if (mode === 'cpu') return 'cpu';
  if (mode === 'webasm') return 'webasm';
  if (mode === 'gpu' || mode === 'headlessgl') return 'headlessgl';
  return requested;
}

function compiled<C extends object>(
  spec: KernelSpec<C>,
  backend: BackendName,
  async: boolean,
): IKernelRunShortcut {
  const key = `${cacheKey(backend, spec)}|${spec.vec4 ? 'v4' : 's'}|${async ? 'async' : 'sync'}`;
  let kernel = kernelCache.get(key);
  if (!kernel) {
    const settings: IGPUKernelSettings & { loopMaxIterations: number; asyncMode: boolean } = {
      output: spec.output,
      constants: (spec.constants ?? {}) as Record<string, number>,
      precision: 'single',
      tactic: 'precision',
      loopMaxIterations: spec.loopMaxIterations ?? 100000,
      dynamicOutput: false,
      functions: spec.functions ?? [],
      asyncMode: async,
      ...(spec.vec4 ? { returnType: 'Array(4)' as const } : {}),
    };
    kernel = gpuFor(backend).createKernel(spec.fn as unknown as KernelFunction, settings);
    kernelCache.set(key, kernel);
  }
  return kernel;
}

type Erector = (data: Float32Array, w: number, h?: number, d?: number) => unknown;

interface KernelInternals {
  _shapeOutput?: (data: Float32Array, output: number[], components: number) => unknown;
  formatValues?: Erector;
  efflabFlat?: boolean;
}

/**
 * Make a compiled kernel hand back its flat output buffer instead of nested per-row arrays.
 *
 * gpu.js reads every result into one flat Float32Array and then "erects" nested arrays of subarray
 * views (one per row, or one per cell for vec4 returns). For a million-cell vec4 output that erection
 * alone costs about a second on webasm, more than the arithmetic. The webasm kernel shapes its output in
 * `_shapeOutput`, the GL kernels in `formatValues`; both are replaced on this kernel instance by a
 * function that returns the packed data. These are gpu.js 2.24 internals: the replacement is only
 * installed when the hook and a known packed erector are found, otherwise results take the ordinary
 * nested path and `flatten` copies them.
 */
function installFlatOutput(kernel: IKernelRunShortcut, components: number): void {
  const inner = (kernel as unknown as { kernel?: KernelInternals }).kernel;
  if (!inner || inner.efflabFlat) return;
  if (typeof inner._shapeOutput === 'function') {
    inner._shapeOutput = (data) => data;
    inner.efflabFlat = true;
    return;
  }
  const u = gpuUtils as unknown as Record<string, Erector>;
  const packed =
    components === 4
      ? [u.erectArray4, u.erect2DArray4, u.erect3DArray4]
      : [u.erectMemoryOptimizedFloat, u.erectMemoryOptimized2DFloat, u.erectMemoryOptimized3DFloat];
  if (inner.formatValues && packed.includes(inner.formatValues)) {
    inner.formatValues = (data, w, h, d) => data.slice(0, w * (h || 1) * (d || 1) * components);
    inner.efflabFlat = true;
  }
}

function outputLength<C extends object>(spec: KernelSpec<C>): number {
  return spec.output.reduce((a, b) => a * b, 1) * (spec.vec4 ? 4 : 1);
}

/**
 * Run a kernel on the current backend, compiling (and caching) it on first use.
 * Returns the flat Float32Array gpu.js produced (row-major in [z][y][x] order, then the 4 values of a
 * `vec4` cell).
 */
export function runKernel<C extends object>(
  spec: KernelSpec<C>,
  ...args: (Float32Array | number)[]
): Float32Array {
  const backend = getBackend();
  const kernel = compiled(spec, backend, false);
  const result = kernel(...args) as unknown;
  lastRan = ranOn(kernel, backend);
  installFlatOutput(kernel, spec.vec4 ? 4 : 1);
  return flatten(result, outputLength(spec));
}

/**
 * Run a kernel under gpu.js's async contract. On `webasm` this splits large outputs across a pool of
 * worker threads (one per core); on the other backends it resolves the synchronous result.
 */
export async function runKernelAsync<C extends object>(
  spec: KernelSpec<C>,
  ...args: (Float32Array | number)[]
): Promise<Float32Array> {
  const backend = getBackend();
  const kernel = compiled(spec, backend, true);
  const result = (await (kernel(...args) as unknown as Promise<unknown>)) as unknown;
  lastRan = ranOn(kernel, backend);
  installFlatOutput(kernel, spec.vec4 ? 4 : 1);
  return flatten(result, outputLength(spec));
}

/** gpu.js returns nested Float32Arrays for 2-D/3-D outputs; make one flat row-major buffer. */
function flatten(result: unknown, total: number): Float32Array {
  if (result instanceof Float32Array && result.length === total) return result;
  const out = new Float32Array(total);
  let k = 0;
  const walk = (v: unknown): void => {
    if (v instanceof Float32Array) {
      out.set(v, k);
      k += v.length;
    } else if (Array.isArray(v)) {
      for (const x of v) walk(x);
    } else {
      throw new BackendError(`kernel returned an unexpected value of type ${typeof v}`);
    }
  };
  walk(result);
  if (k !== total) throw new BackendError(`kernel returned ${k} values, expected ${total}`);
  return out;
}

/** Release every compiled kernel and GPU context (tests, backend switches). */
export function disposeBackends(): void {
  kernelCache.clear();
  for (const gpu of gpus.values()) gpu.destroy();
  gpus.clear();
}
