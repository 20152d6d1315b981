/**
 * The GL backend's runtime: gpu.js in `headlessgl` mode (WebGL 1 through headless-gl; Mesa llvmpipe under
 * Xvfb on a machine without a GPU, the real driver on a GPU machine). gpu.js and the native `gl` module
 * are loaded on first use only, so importing the ops does not pay for them.
 *
 * Compiled kernels are cached per kernel name and the shape constants they were built for. A kernel runs
 * either to the host (`runKernel`: a flat Float32Array) or, in pipeline mode (`runKernelResident`), to a
 * GPU texture that the next GL kernel reads directly; see `GlBuffer` in ../tensor.ts.
 */
import { existsSync, readdirSync } from 'node:fs';
import type { GPU as GpuType, IKernelRunShortcut, IGPUKernelSettings, KernelFunction, Texture } from 'gpu.js';
import { BackendError } from '../errors';
import { onDispose } from '../registry';
import { type DeviceBuffer, Tensor } from '../tensor';
import type { KernelThis } from './kernel-this';

type GpuModule = typeof import('gpu.js');

let gpuModule: GpuModule | undefined;
function gpujs(): GpuModule {
  // Loaded lazily: gpu.js probes headless-gl (a native module and a GL context) when it loads.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  gpuModule ??= require('gpu.js') as GpuModule;
  return gpuModule;
}

let gpu: GpuType | undefined;
const kernelCache = new Map<string, IKernelRunShortcut>();

/** Why the GL backend cannot start here, or undefined if it can. */
export function glUnavailableReason(): string | undefined {
  let supported = false;
  try {
    supported = gpujs().GPU.isHeadlessGLSupported;
  } catch (e) {
    return `gpu.js / headless-gl failed to load: ${(e as Error).message}`;
  }
  if (supported) return undefined;
  const display = process.env.DISPLAY;
  return display
    ? `headless-gl could not create a WebGL context on DISPLAY=${display} (is the native 'gl' module built and Mesa installed?)`
    : 'headless-gl needs an X display: DISPLAY is unset (run under `xvfb-run -a`)';
}

/** Renderer names of software rasterisers: GL "works" there but is slower than the CPU paths. */
const SOFTWARE_RENDERERS = /llvmpipe|softpipe|swrast|swiftshader|software/i;

/** The WebGL renderer string (the unmasked one when the driver exposes it), or undefined without GL. */
export function glRenderer(): string | undefined {
  if (glUnavailableReason() !== undefined) return undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const create = require('gl') as (w: number, h: number) => WebGLLike | null;
    const ctx = create(1, 1);
    if (!ctx) return undefined;
    const info = ctx.getExtension('WEBGL_debug_renderer_info') as { UNMASKED_RENDERER_WEBGL: number } | null;
    const name = String(ctx.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : ctx.RENDERER));
    ctx.getExtension('STACKGL_destroy_context')?.destroy();
    return name;
  } catch {
    return undefined;
  }
}

interface WebGLLike {
  RENDERER: number;
  getParameter(p: number): unknown;
  getExtension(name: string): ({ destroy(): void } & Record<string, unknown>) | null;
}

/** A GPU device node of a hardware driver (NVIDIA, or a DRM render node), without loading GL. */
function hardwareGpuPresent(): boolean {
  if (existsSync('/proc/driver/nvidia/version') || existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

/**
 * Whether `auto` should choose GL: a hardware GPU device is present, GL starts, and the renderer is not
 * a software rasteriser. headless-gl 8 (ANGLE) reports "ANGLE" and hides the driver's name unless
 * WEBGL_debug_renderer_info is exposed; then the device node decides. Without a GPU device (this CI
 * machine, Mesa llvmpipe under Xvfb) GL is never auto-selected: the CPU paths are faster there.
 */
export function glIsHardware(): boolean {
  if (!hardwareGpuPresent()) return false;
  const renderer = glRenderer();
  return renderer !== undefined && !SOFTWARE_RENDERERS.test(renderer);
}

function gpuInstance(): GpuType {
  if (!gpu) {
    const why = glUnavailableReason();
    if (why) throw new BackendError(`gl backend unavailable: ${why}`);
    gpu = new (gpujs().GPU)({ mode: 'headlessgl' });
  }
  return gpu;
}

export interface KernelSpec<C extends object = Record<string, number>> {
  /** Stable name of the kernel family, e.g. `matmul`. */
  name: string;
  /** The gpu.js kernel function (a plain `function`, never an arrow); arrays or numbers as arguments. */
  fn: (this: KernelThis<C>, ...args: never[]) => number | number[];
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

function cacheKey<C extends object>(spec: KernelSpec<C>, pipeline: boolean): string {
  const c = (spec.constants ?? {}) as Record<string, number>;
  const consts = Object.keys(c)
    .sort()
    .map((k) => `${k}=${c[k]}`)
    .join(',');
  return `${spec.name}|${spec.output.join('x')}|${consts}|${spec.vec4 ? 'v4' : 's'}|${pipeline ? 'tex' : 'host'}`;
}

/** How many gpu.js kernels have been compiled in this process (each distinct cache key costs a compile). */
export function compiledKernelCount(): number {
  return kernelCache.size;
}

function compiled<C extends object>(spec: KernelSpec<C>, pipeline: boolean): IKernelRunShortcut {
  const key = cacheKey(spec, pipeline);
  let kernel = kernelCache.get(key);
  if (!kernel) {
    const settings: IGPUKernelSettings & { loopMaxIterations: number } = {
      output: spec.output,
      constants: (spec.constants ?? {}) as Record<string, number>,
      precision: 'single',
      tactic: 'precision',
      loopMaxIterations: spec.loopMaxIterations ?? 100000,
      dynamicOutput: false,
      functions: spec.functions ?? [],
      pipeline,
      // A pipelined kernel must not hand back a texture it will overwrite on its next run.
      immutable: pipeline,
      ...(spec.vec4 ? { returnType: 'Array(4)' as const } : {}),
    };
    kernel = gpuInstance().createKernel(spec.fn as unknown as KernelFunction, settings);
    kernelCache.set(key, kernel);
  }
  return kernel;
}

/** gpu.js must have run the kernel on GL: never accept a silent fallback to its CPU mode. */
function assertRanOnGl(kernel: IKernelRunShortcut, name: string): void {
  const inner = (kernel as unknown as { kernel?: { constructor?: { mode?: string } } }).kernel;
  const mode = inner?.constructor?.mode;
  if (mode !== undefined && mode !== 'gpu' && mode !== 'headlessgl') {
    throw new BackendError(`gl kernel '${name}' ran in gpu.js mode '${mode}', not on GL`);
  }
}

type Erector = (data: Float32Array, w: number, h?: number, d?: number) => unknown;

interface KernelInternals {
  formatValues?: Erector;
  efflabFlat?: boolean;
}

/**
 * Make a compiled kernel hand back its flat output buffer instead of nested per-row arrays: gpu.js reads
 * every result into one flat Float32Array and then "erects" nested subarray views, which for large
 * outputs costs more than the arithmetic. Replaced only when a known packed erector is found (gpu.js
 * 2.24 internals); otherwise `flatten` copies the nested result.
 */
function installFlatOutput(kernel: IKernelRunShortcut, components: number): void {
  const inner = (kernel as unknown as { kernel?: KernelInternals }).kernel;
  if (!inner || inner.efflabFlat) return;
  const u = gpujs().utils as unknown as Record<string, Erector>;
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

/** A kernel argument: a host array, a number, or a tensor (its resident texture when it has one). */
export type KernelArg = Float32Array | number | Tensor;

function argValue(a: KernelArg): Float32Array | number | Texture {
  if (a instanceof Tensor) {
    const dev = a.device;
    if (dev instanceof GlBuffer && dev.alive()) return dev.texture;
    return a.data;
  }
  return a;
}

/** Run a GL kernel and read its result back: the flat Float32Array in [z][y][x] order (then vec4 lanes). */
export function runKernel<C extends object>(spec: KernelSpec<C>, ...args: KernelArg[]): Float32Array {
  const kernel = compiled(spec, false);
  const result = kernel(...args.map(argValue)) as unknown;
  assertRanOnGl(kernel, spec.name);
  installFlatOutput(kernel, spec.vec4 ? 4 : 1);
  return flatten(result, outputLength(spec));
}

let generation = 0;

/**
 * A tensor's data resident in a GL texture. The host copy is read back (once) only when something
 * outside the GL kernels touches `tensor.data`, so a chain of GL ops never leaves the GPU.
 */
export class GlBuffer implements DeviceBuffer {
  readonly backend = 'gl';
  private readonly gen = generation;
  constructor(
    readonly texture: Texture,
    private readonly length: number,
    private readonly name: string,
  ) {}

  /** False after `disposeBackends()` destroyed the context the texture belongs to. */
  alive(): boolean {
    return this.gen === generation;
  }

  download(): Float32Array {
    if (!this.alive()) throw new BackendError(`gl tensor from '${this.name}' outlived its GL context`);
    return flatten(this.texture.toArray() as unknown, this.length);
  }
}

/**
 * Run a GL kernel in pipeline mode: the result stays in a texture and comes back as a tensor whose host
 * data is downloaded lazily. Only for scalar (non-vec4) outputs.
 */
export function runKernelResident<C extends object>(
  spec: KernelSpec<C>,
  shape: readonly number[],
  ...args: KernelArg[]
): Tensor {
  const kernel = compiled(spec, true);
  const texture = kernel(...args.map(argValue)) as unknown as Texture;
  assertRanOnGl(kernel, spec.name);
  return Tensor.onDevice(new GlBuffer(texture, outputLength(spec), spec.name), shape);
}

/** Whether GL kernels keep their results resident (`EFFLAB_GL_RESIDENT=0` turns it off). */
export function glResident(): boolean {
  return process.env.EFFLAB_GL_RESIDENT !== '0';
}

/** gpu.js returns nested Float32Arrays for 2-D/3-D outputs; make one flat row-major buffer. */
function flatten(result: unknown, total: number): Float32Array {
  if (result instanceof Float32Array && result.length === total) return result;
  const out = new Float32Array(total);
  let k = 0;
  const walk = (v: unknown): void => {
    if (v instanceof Float32Array) {
      out.set(v.subarray(0, Math.min(v.length, total - k)), k);
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

onDispose(() => {
  kernelCache.clear();
  gpu?.destroy();
  gpu = undefined;
  generation++;
});
