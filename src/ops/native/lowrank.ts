/**
 * `foldedAttention` (Eq. 5.9) on the native backend for decode-sized queries: the attention written as
 * three products on OpenBLAS instead of the `attnRows` row kernel. Per query row (b, t), over the
 * S₁ = offset + t + 1 keys it may see:
 *   scores  P_g = scale · Q_g · K_gᵀ      one batched GEMM over the K/V groups (Q_g: the query heads
 *                                          reading K/V head g, K_g: that head's columns of the keys);
 *   softmax of each of the Hq rows        (the module's SIMD `softmaxRow`, in place);
 *   Y = P · C_v                           [Hq, d_c]: every head reads the shared compressed values;
 * then out = Y · W_o' for all rows at once. Reading the keys once per group and C_v once per query
 * (rather than once per head) is what makes it faster than the row kernel (bench/profile/lorc-decode.ts;
 * the wasm backend keeps the row kernel, whose GEMM here is slower than it). Scratch lives in the wasm
 * arena and is released before returning.
 */
import type { FoldedDims } from '../plans';
import { Tensor } from '../tensor';
import { requireKernels } from '../wasm/runtime';
import { sgemm } from '../wasm/sgemm';

/** Query rows (B·T) up to which the native backend runs `foldedAttention` (decode); more go to wasm. */
export const FOLDED_GEMM_MAX_ROWS = 4;

/** Folded attention [B, T, hidden] as GEMMs on OpenBLAS (see the module comment). */
export function foldedAttentionNative(
  q: Tensor,
  keys: Tensor,
  cv: Tensor,
  folded: Tensor,
  g: FoldedDims,
): Tensor {
  const { B, T, S, Hq, Hkv, D, dc, hidden, offset } = g;
  const G = Hq / Hkv;
  const rows = B * T;
  const k = requireKernels();
  const { arena } = k;
  const n = Hq * S + rows * Hq * dc;
  const s = arena.scratch(4 * n + 64);
  try {
    const P = new Float32Array(arena.memory.buffer, s.ptr, Hq * S);
    const Y = new Float32Array(arena.memory.buffer, s.ptr + 4 * Hq * S, rows * Hq * dc);
    const scale = 1 / Math.sqrt(D);
    const width = Hkv * D;
    for (let b = 0; b < B; b++) {
      const kb = keys.data.subarray(b * S * width, (b + 1) * S * width);
      const cb = cv.data.subarray(b * S * dc, (b + 1) * S * dc);
      for (let t = 0; t < T; t++) {
        const r = b * T + t;
        const S1 = offset + t + 1;
        const qr = q.data.subarray(r * Hq * D, (r + 1) * Hq * D);
        sgemm(false, true, G, S1, D, qr, kb, P, {
          batch: Hkv,
          strideA: G * D,
          strideB: D,
          strideC: G * S1,
          ldb: width,
          alpha: scale,
        });
        for (let h = 0; h < Hq; h++) k.ew.softmaxRow(s.ptr + 4 * h * S1, S1);
        sgemm(false, false, Hq, dc, S1, P, cb, Y.subarray(r * Hq * dc, (r + 1) * Hq * dc));
      }
    }
    const out = new Float32Array(rows * hidden);
    sgemm(false, false, rows, hidden, Hq * dc, Y, folded.data, out);
    return new Tensor(out, [B, T, hidden]);
  } finally {
    s.done();
  }
}
