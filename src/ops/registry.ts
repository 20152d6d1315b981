/**
 * The one compute registry. Every op of the ops layer (src/ops/<op>.ts) checks its operands once and
 * then calls `dispatch(op, …)`; the registry runs the kernel of the selected backend, falling back per op
 * along a fixed chain when that backend has no kernel for it:
 *
 *   gl → native → wasm → js → reference     native → wasm → js → reference     wasm → js → reference
 *   js → reference     reference
 *
 * Backends (kernel tables registered by src/ops/backends.ts):
 *  - `gl`:        gpu.js kernels on headless-gl / WebGL (src/ops/gl): the GPU path;
 *  - `native`:    GEMM-shaped ops on OpenBLAS through an FFI (src/ops/native), everything else on `wasm`;
 *                 unavailable (with the reason) where the library or the FFI does not load;
 *  - `wasm`:      hand-written WebAssembly SIMD kernels (src/ops/wasm) where they exist, else `js`;
 *  - `js`:        plain TypeScript contiguous loops (src/ops/js): the portable fast CPU path;
 *  - `reference`: the float64 oracle beside each op's shape checks; selectable, never chosen by `auto`.
 *
 * One switch governs every op: `setBackend(name | 'auto')`, the environment variable `EFFLAB_BACKEND`
 * (read on first use), and `withBackend(name, fn)`, which is scoped through AsyncLocalStorage and so
 * holds across `await` inside `fn` without leaking into concurrent work. `lastBackendRan(op?)` and
 * `traceBackends(fn)` report which backend actually ran each op (after any fallback).
 *
 * A backend may also decline one call of an op it implements (`BackendProvider.declines`, e.g. native
 * leaves single-query attention to wasm); the call then runs on the next backend of the chain, and the
 * report names the one that ran.
 *
 * `auto` picks the fastest measured path here: `native` where OpenBLAS loads, else `wasm` (then `js`). `gl` is chosen by `auto` only on a
 * hardware GPU (see `glIsHardware` in src/ops/gl/runtime.ts: a GPU device node is present and the
 * WebGL renderer is not Mesa's llvmpipe/softpipe/swrast); on any machine `EFFLAB_BACKEND=gl` or
 * `setBackend('gl')` forces it. Older names are accepted as aliases: `headlessgl` → gl, `webasm` → wasm,
 * `cpu` → js.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { BackendError } from './errors';
import { setGemmRouteSource } from './gemm-route';
import type { OpKernels, OpName } from './kernel-types';

export type BackendName = 'gl' | 'native' | 'wasm' | 'js' | 'reference';

/** Every backend, fastest-capable first (`reference` last: the oracle). */
export const BACKENDS: readonly BackendName[] = ['gl', 'native', 'wasm', 'js', 'reference'];

/** The backends that compute for production (what the parity table checks against `reference`). */
export const COMPUTE_BACKENDS: readonly BackendName[] = ['gl', 'native', 'wasm', 'js'];

/** Old backend names still accepted by `setBackend` / `EFFLAB_BACKEND`. */
export const BACKEND_ALIASES: Readonly<Record<string, BackendName>> = {
  headlessgl: 'gl',
  webasm: 'wasm',
  cpu: 'js',
};

/** Environment variable that forces a backend (`gl`, `native`, `wasm`, `js`, `reference` or `auto`). */
export const BACKEND_ENV = 'EFFLAB_BACKEND';

/** Per-op fallback order for each selected backend. */
export const FALLBACK: Readonly<Record<BackendName, readonly BackendName[]>> = {
  gl: ['gl', 'native', 'wasm', 'js', 'reference'],
  native: ['native', 'wasm', 'js', 'reference'],
  wasm: ['wasm', 'js', 'reference'],
  js: ['js', 'reference'],
  reference: ['reference'],
};

/** What a backend module registers: its kernels and why it cannot start here (undefined if it can). */
export interface BackendProvider {
  kernels: () => Partial<OpKernels>;
  unavailableReason: () => string | undefined;
  /** True when `auto` may choose this backend on this machine (only consulted for `gl`). */
  preferredByAuto?: () => boolean;
  /**
   * Per op, a test that declines a call this backend implements but would not run well (the call then
   * runs on the next backend of the chain, and is reported so).
   */
  declines?: () => Declines;
}

/** Per-op tests that make a backend pass one call down its fallback chain. */
export type Declines = { [K in OpName]?: (...args: Parameters<OpKernels[K]>) => boolean };

const providers = new Map<BackendName, BackendProvider>();
const tables = new Map<BackendName, Partial<OpKernels>>();
const declineTables = new Map<BackendName, Declines>();

/** Register a backend's kernels (src/ops/backends.ts does this for the four built-in backends). */
export function registerBackend(name: BackendName, provider: BackendProvider): void {
  providers.set(name, provider);
  tables.delete(name);
  declineTables.delete(name);
}

function provider(name: BackendName): BackendProvider {
  if (providers.size === 0) {
    // A module imported an op file directly rather than the index: register the built-in backends now.
    // (A lazy require, not an import: backends.ts imports the op files, which import this registry.)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('./backends');
  }
  const p = providers.get(name);
  if (!p) {
    throw new BackendError(
      `backend '${name}' has no kernels registered: import the ops through their index (src/ops), which registers every backend`,
    );
  }
  return p;
}

function table(name: BackendName): Partial<OpKernels> {
  let t = tables.get(name);
  if (!t) {
    t = provider(name).kernels();
    tables.set(name, t);
  }
  return t;
}

function declinesOf(name: BackendName): Declines {
  let d = declineTables.get(name);
  if (!d) {
    d = provider(name).declines?.() ?? {};
    declineTables.set(name, d);
  }
  return d;
}

/** Why a backend cannot start here, or undefined if it can. */
export function backendUnavailableReason(name: BackendName): string | undefined {
  return provider(name).unavailableReason();
}

/** The backends that can run here, in `BACKENDS` order. */
export function availableBackends(): BackendName[] {
  return BACKENDS.filter((b) => backendUnavailableReason(b) === undefined);
}

/** Whether backend `name` has its own kernel for `op` (false: the op falls back along `FALLBACK`). */
export function hasKernel(name: BackendName, op: OpName): boolean {
  return table(name)[op] !== undefined;
}

/**
 * The backend that runs `op` when `name` is selected (its own kernel or the first fallback that has
 * one), for calls no backend declines (see `BackendProvider.declines`).
 */
export function resolveKernelBackend(name: BackendName, op: OpName): BackendName {
  for (const b of FALLBACK[name]) if (table(b)[op] !== undefined) return b;
  throw new BackendError(`no backend implements op '${op}' (not even the reference)`);
}

/** Whether backend `name` may decline some calls of `op` (they then run on the next backend of its chain). */
export function mayDecline(name: BackendName, op: OpName): boolean {
  return declinesOf(name)[op] !== undefined;
}

function parseBackend(name: string, source: string): BackendName | 'auto' {
  if (name === 'auto') return 'auto';
  if ((BACKENDS as readonly string[]).includes(name)) return name as BackendName;
  const alias = BACKEND_ALIASES[name];
  if (alias) return alias;
  throw new BackendError(
    `${source}: unknown backend '${name}' (expected one of ${BACKENDS.join(', ')}, auto; old names ${Object.keys(
      BACKEND_ALIASES,
    )
      .map((k) => `${k} → ${BACKEND_ALIASES[k]}`)
      .join(', ')})`,
  );
}

/** The backend `auto` resolves to: gl on a hardware GPU, else native (OpenBLAS), else wasm, else js. */
export function autoBackend(): BackendName {
  const gl = providers.get('gl');
  if (gl?.preferredByAuto?.() && gl.unavailableReason() === undefined) return 'gl';
  for (const b of ['native', 'wasm', 'js'] as const) if (backendUnavailableReason(b) === undefined) return b;
  return 'reference';
}

function checked(name: BackendName, source: string): BackendName {
  const why = backendUnavailableReason(name);
  if (why) throw new BackendError(`${source}('${name}'): backend unavailable: ${why}`);
  return name;
}

function resolve(name: string, source: string): BackendName {
  const parsed = parseBackend(name, source);
  return parsed === 'auto' ? autoBackend() : checked(parsed, source);
}

interface Scope {
  backend?: BackendName;
  trace?: OpCall[];
  profile?: Map<OpName, OpTime>;
}

/** Wall time spent in one op's kernels inside `profileOps` (checks and dispatch excluded). */
export interface OpTime {
  calls: number;
  ms: number;
}

const scope = new AsyncLocalStorage<Scope>();
let selected: BackendName | undefined;

/** Select the backend every following op runs on (`'auto'`: the fastest here). Returns the resolved name. */
export function setBackend(name: BackendName | 'auto' | keyof typeof BACKEND_ALIASES): BackendName {
  selected = resolve(name, 'setBackend');
  return selected;
}

/** The backend ops run on now: the innermost `withBackend`, else `setBackend`, else `EFFLAB_BACKEND`/auto. */
export function getBackend(): BackendName {
  const scoped = scope.getStore()?.backend;
  if (scoped) return scoped;
  if (selected === undefined) {
    const env = process.env[BACKEND_ENV];
    selected = env ? resolve(env, BACKEND_ENV) : autoBackend();
  }
  return selected;
}

/**
 * Run `fn` with `name` selected for every op it calls, including after `await`s inside it (the choice
 * is carried by AsyncLocalStorage, so concurrent work outside `fn` keeps its own backend).
 */
export function withBackend<T>(name: BackendName | 'auto' | keyof typeof BACKEND_ALIASES, fn: () => T): T {
  const backend = resolve(name, 'withBackend');
  return scope.run({ ...scope.getStore(), backend }, fn);
}

/** One op call as the registry ran it. */
export interface OpCall {
  op: OpName;
  /** Backend selected when the op was called. */
  requested: BackendName;
  /** Backend whose kernel actually ran (differs from `requested` after a per-op fallback). */
  ran: BackendName;
}

let lastCall: OpCall | undefined;
const lastByOp = new Map<OpName, OpCall>();

/** The backend that ran the most recent op (or the most recent call of `op`). */
export function lastBackendRan(op?: OpName): BackendName | undefined {
  return (op === undefined ? lastCall : lastByOp.get(op))?.ran;
}

/** Run `fn` and list every op it called with the backend that ran it (works across `await`). */
export function traceBackends<T>(fn: () => T): { value: T; calls: OpCall[] } {
  const calls: OpCall[] = [];
  const value = scope.run({ ...scope.getStore(), trace: calls }, fn);
  return { value, calls };
}

/**
 * Run `fn` and time every op kernel it calls (wall ms and calls per op, across `await`): where a model's
 * time goes. Time outside the kernels (copies, shape checks, the caller's own loops) is not counted.
 */
export function profileOps<T>(fn: () => T): { value: T; ops: Map<OpName, OpTime> } {
  const ops = new Map<OpName, OpTime>();
  const value = scope.run({ ...scope.getStore(), profile: ops }, fn);
  return { value, ops };
}

/** The backend whose kernel is running now (innermost dispatch), undefined outside every kernel. */
let running: BackendName | undefined;

/**
 * The backend a GEMM called now should run on: the backend of the op kernel that is running (so a
 * wasm kernel's GEMMs stay on wasm even when native is selected and fell back to it), else the
 * selected backend (a direct `sgemm` call). src/ops/wasm/sgemm.ts routes on it.
 */
export function gemmBackend(): BackendName {
  return running ?? getBackend();
}
setGemmRouteSource(gemmBackend);

function pick<K extends OpName>(requested: BackendName, op: K, args: Parameters<OpKernels[K]>): BackendName {
  for (const b of FALLBACK[requested]) {
    if (table(b)[op] === undefined) continue;
    const declines = declinesOf(b)[op] as ((...a: Parameters<OpKernels[K]>) => boolean) | undefined;
    if (declines?.(...args)) continue;
    return b;
  }
  throw new BackendError(`no backend implements op '${op}' (not even the reference)`);
}

/** Run op `op` on the selected backend (or its fallback); the op has already checked its operands. */
export function dispatch<K extends OpName>(
  op: K,
  ...args: Parameters<OpKernels[K]>
): ReturnType<OpKernels[K]> {
  const requested = getBackend();
  const ran = pick(requested, op, args);
  const kernel = table(ran)[op] as unknown as (...a: Parameters<OpKernels[K]>) => ReturnType<OpKernels[K]>;
  const call: OpCall = { op, requested, ran };
  lastCall = call;
  lastByOp.set(op, call);
  const store = scope.getStore();
  store?.trace?.push(call);
  const outer = running;
  running = ran;
  try {
    if (!store?.profile) return kernel(...args);
    const t0 = performance.now();
    const r = kernel(...args);
    const dt = performance.now() - t0;
    const e = store.profile.get(op);
    if (e) {
      e.calls++;
      e.ms += dt;
    } else store.profile.set(op, { calls: 1, ms: dt });
    return r;
  } finally {
    running = outer;
  }
}

const disposers: (() => void)[] = [];

/** Register a clean-up hook (the GL backend releases its contexts and compiled kernels). */
export function onDispose(fn: () => void): void {
  disposers.push(fn);
}

/** Release every backend resource (compiled kernels, GL contexts). Ops keep working afterwards. */
export function disposeBackends(): void {
  for (const d of disposers) d();
}
