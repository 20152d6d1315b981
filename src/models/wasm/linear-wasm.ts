/**
 * y = x · Wᵀ (+ b) on the wasm backend's blocked SIMD GEMM (src/ops/wasm: register- and cache-blocked,
 * relaxed-SIMD FMA where available, every core). Kept as the models' entry point until the ops
 * registry serves linear layers; weights allocated with `allocWeights` live in the shared wasm memory
 * and are read in place.
 */
import {
  Tensor,
  allocF32,
  sgemm,
  wasmArena,
  wasmKernels,
  wasmUnavailableReason,
  type WasmArena,
} from '../../ops';
import { linearJs } from '../linear';

/** Why the wasm kernels are unavailable here, or undefined if they run. */
export function wasmLinearUnavailableReason(): string | undefined {
  return wasmUnavailableReason();
}

/** Threads the wasm kernels use (1 where wasm is unavailable). */
export function wasmLinearThreads(): number {
  return wasmKernels()?.threads ?? 1;
}

/** The process-wide weight arena (undefined where wasm cannot run). */
export function weightArena(): WasmArena | undefined {
  return wasmKernels() ? wasmArena() : undefined;
}

/** A float32 buffer for weights: in the wasm arena when available (read in place by the kernels). */
export function allocWeights(n: number): Float32Array {
  return allocF32(n);
}

/** y = x · Wᵀ + b with the blocked SIMD GEMM; falls back to `linearJs` where wasm is unavailable or shapes do not fit. */
export function linearWasm(x: Tensor, w: Tensor, bias?: Tensor, what = 'linear'): Tensor {
  const K = w.shape[1];
  if (
    !wasmKernels() ||
    w.rank !== 2 ||
    x.shape[x.rank - 1] !== K ||
    (bias && (bias.rank !== 1 || bias.size !== w.shape[0]))
  ) {
    return linearJs(x, w, bias, what);
  }
  const N = w.shape[0];
  const M = K === 0 ? 0 : x.size / K;
  const out = new Float32Array(M * N);
  if (bias) for (let i = 0; i < M; i++) out.set(bias.data, i * N);
  sgemm(false, true, M, N, K, x.data, w.data, out, { beta: bias ? 1 : 0 });
  return new Tensor(out, [...x.shape.slice(0, -1), N]);
}
