/**
 * The `native` backend's kernel table: the GEMM-shaped ops, whose products run on OpenBLAS (the
 * kernels are the wasm backend's; their `sgemm` calls route to OpenBLAS because the registry reports
 * `native` as the running backend, see src/ops/wasm/sgemm.ts). Every other op falls back to `wasm`.
 * Calls without a GEMM inside (attention for fewer than 8 queries, quantized linear for fewer than
 * 8 rows: the decode shapes) are declined and reported as the wasm backend's.
 */
import type { OpKernels } from '../kernel-types';
import type { Declines } from '../registry';
import { GEMM_MIN_ROWS as QUANT_GEMM_MIN_ROWS } from '../wasm/quant';
import { ATTENTION_GEMM_MIN_T, wasmKernelTable } from '../wasm-kernels';
import { nativeBlas, nativeUnavailableReason } from './lib';

/** Why the native backend cannot run here (no OpenBLAS or no FFI; then also the wasm reason), or undefined. */
export function nativeBackendUnavailableReason(wasmReason: () => string | undefined): string | undefined {
  const why = nativeUnavailableReason();
  if (why) return why;
  const w = wasmReason();
  return w ? `native needs the wasm arena: ${w}` : undefined;
}

/** Ops with a native kernel (empty where the library does not load: every op then runs on wasm). */
export function nativeKernelTable(): Partial<OpKernels> {
  if (!nativeBlas()) return {};
  const w = wasmKernelTable();
  return {
    matmul: w.matmul,
    linear: w.linear,
    cosine: w.cosine,
    attention: w.attention,
    reconstructRope: w.reconstructRope,
    quantLinear: w.quantLinear,
  };
}

/** The calls the native table passes on to wasm: those with no GEMM inside. */
export function nativeDeclines(): Declines {
  return {
    attention: (_q, _k, _v, g) => g.T < ATTENTION_GEMM_MIN_T,
    quantLinear: (_x, _w, _b, p) => p.M < QUANT_GEMM_MIN_ROWS,
  };
}
