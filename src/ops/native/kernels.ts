/**
 * The `native` backend's kernel table: the GEMM-shaped ops, whose products run on OpenBLAS (the
 * kernels are the wasm backend's, but for cosine; their `sgemm` calls route to OpenBLAS because the
 * registry reports `native` as the running backend, see src/ops/wasm/sgemm.ts). Every other op falls back to `wasm`.
 * Calls without a GEMM inside (attention for fewer than 8 queries, quantized linear for fewer than
 * 8 rows: the decode shapes) are declined and reported as the wasm backend's. `foldedAttention` runs
 * here for decode-sized queries only (./lowrank.ts); larger calls go to the wasm kernel.
 */
import type { CosinePlan } from '../cosine';
import { normaliseRows } from '../js/cosine';
import type { OpKernels } from '../kernel-types';
import { Tensor } from '../tensor';
import { sgemm } from '../wasm/sgemm';
import type { Declines } from '../registry';
import { GEMM_MIN_ROWS as QUANT_GEMM_MIN_ROWS } from '../wasm/quant';
import { ATTENTION_GEMM_MIN_T, wasmKernelTable } from '../wasm-kernels';
import { nativeBlas, nativeUnavailableReason } from './lib';
import { FOLDED_GEMM_MAX_ROWS, foldedAttentionNative } from './lowrank';

/** Why the native backend cannot run here (no OpenBLAS or no FFI; then also the wasm reason), or undefined. */
export function nativeBackendUnavailableReason(wasmReason: () => string | undefined): string | undefined {
  const why = nativeUnavailableReason();
  if (why) return why;
  const w = wasmReason();
  return w ? `native needs the wasm arena: ${w}` : undefined;
}

/**
 * Cosine similarities (Eq. 3.4's similarity) without a normalised copy of the large operand: the
 * dot products of a's raw rows with b's unit rows in one GEMM, then each output row scaled by
 * 1 / ‖a_i‖ (norms summed in float64; the op hands them over when it computed them while checking a).
 * Saves writing and re-reading n × d floats (7,600 × 384: 11.7 MB).
 */
function cosineNative(a: Tensor, b: Tensor, p: CosinePlan): Tensor {
  const { n, m, d } = p;
  const out = new Float32Array(n * m);
  sgemm(false, true, n, m, d, a.data, normaliseRows(b.data, m, d), out);
  const x = a.data;
  for (let i = 0; i < n; i++) {
    let inv: number;
    if (p.invNormA) inv = p.invNormA[i];
    else {
      const o = i * d;
      let s0 = 0;
      let s1 = 0;
      let k = 0;
      for (; k + 1 < d; k += 2) {
        s0 += x[o + k] * x[o + k];
        s1 += x[o + k + 1] * x[o + k + 1];
      }
      if (k < d) s0 += x[o + k] * x[o + k];
      inv = 1 / Math.sqrt(s0 + s1);
    }
    for (let j = i * m; j < (i + 1) * m; j++) out[j] *= inv;
  }
  return new Tensor(out, [n, m]);
}

/** Ops with a native kernel (empty where the library does not load: every op then runs on wasm). */
export function nativeKernelTable(): Partial<OpKernels> {
  if (!nativeBlas()) return {};
  const w = wasmKernelTable();
  return {
    matmul: w.matmul,
    linear: w.linear,
    cosine: cosineNative,
    attention: w.attention,
    reconstructRope: w.reconstructRope,
    foldedAttention: foldedAttentionNative,
    quantLinear: w.quantLinear,
  };
}

/** The calls the native table passes on to wasm: those with no GEMM inside. */
export function nativeDeclines(): Declines {
  return {
    attention: (_q, _k, _v, g) => g.T < ATTENTION_GEMM_MIN_T,
    quantLinear: (_x, _w, _b, p) => p.M < QUANT_GEMM_MIN_ROWS,
    foldedAttention: (_q, _k, _c, _f, g) => g.B * g.T > FOLDED_GEMM_MAX_ROWS,
  };
}
