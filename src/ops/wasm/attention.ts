/**
 * Attention (Eq. 2.3) as batched GEMMs on the wasm sgemm, in place in the shared memory: q, k, v are
 * staged into the arena once (read in place when they already live there), then per batch row b and
 * per position gi of a query head inside its K/V group (G = Hq / Hkv) two sgemm calls batched over the
 * Hkv heads, reading the heads through their strides (no per-head transposes or gathers):
 *
 *   S_h = scale · Q_h · K_hᵀ          [T, S] for every query head h = kh·G + gi       (transB)
 *   P_h = softmax(S_h) with the causal and key masks (a row sees keys 0..offset + t)
 *   O_h = P_h · V_h                   [T, D], written straight into the [B, T, Hq, D] output
 *
 * The masked softmax is the module's SIMD row kernel (float32, masked keys get exactly 0). Causal rows
 * compute their hidden part in the first product (≤ 2× its flops) and skip it in the second (the
 * product of each row stops at its last visible key only through zeros; the GEMM is blocked anyway).
 */
import type { AttentionDims } from '../plans';
import { outputBuffer } from '../buffers';
import { sgemm } from './sgemm';
import { requireKernels } from './runtime';

/** Attention output [B, T, Hq, D] as a Float32Array (see the module comment). */
export function attentionBatchedGemm(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  g: AttentionDims,
): Float32Array {
  const { B, T, Hq, D, S, Hkv } = g;
  const G = Hq / Hkv;
  const { arena, ew } = requireKernels();
  const softmaxRow = ew.softmaxRow;
  const qn = B * T * Hq * D;
  const kn = B * S * Hkv * D;
  const sn = Hq * T * S;
  const parts: { done: () => void }[] = [];
  const view = (src: Float32Array | undefined, n: number): Float32Array => {
    if (src && arena.owns(src)) return src;
    const s = arena.scratch(4 * n + 64);
    parts.push(s);
    const out = new Float32Array(arena.memory.buffer, s.ptr, n);
    if (src) out.set(src.subarray(0, n));
    return out;
  };
  try {
    const qa = view(q, qn);
    const ka = view(k, kn);
    const va = view(v, kn);
    const scores = view(undefined, sn);
    const oa = view(undefined, qn);
    const kvRow = Hkv * D;
    for (let b = 0; b < B; b++) {
      const kOff = b * S * kvRow;
      for (let gi = 0; gi < G; gi++) {
        // scores of heads h = kh·G + gi at h·T·S: batch over kh
        sgemm(
          false,
          true,
          T,
          S,
          D,
          qa.subarray((b * T * Hq + gi) * D),
          ka.subarray(kOff),
          scores.subarray(gi * T * S),
          {
            batch: Hkv,
            lda: Hq * D,
            strideA: G * D,
            ldb: kvRow,
            strideB: D,
            strideC: G * T * S,
            alpha: g.scale,
          },
        );
      }
      maskedSoftmaxRows(scores, Hq, T, S, g, b, softmaxRow);
      for (let gi = 0; gi < G; gi++) {
        sgemm(
          false,
          false,
          T,
          D,
          S,
          scores.subarray(gi * T * S),
          va.subarray(kOff),
          oa.subarray((b * T * Hq + gi) * D),
          { batch: Hkv, lda: S, strideA: G * T * S, ldb: kvRow, strideB: D, ldc: Hq * D, strideC: G * D },
        );
      }
    }
    const res = outputBuffer(qn);
    res.set(oa.subarray(0, qn));
    return res;
  } finally {
    for (const p of parts) p.done();
  }
}

/**
 * Softmax of each score row in place (the module's SIMD `softmaxRow`), over the keys row t of batch row
 * b may see: masked keys are set to -Infinity first (exactly 0 after exp), keys past the causal limit
 * are set to 0.
 */
function maskedSoftmaxRows(
  sc: Float32Array,
  Hq: number,
  T: number,
  S: number,
  g: AttentionDims,
  b: number,
  softmaxRow: (p: number, n: number) => void,
): void {
  const mask = g.mask;
  const mo = b * S;
  for (let h = 0; h < Hq; h++) {
    for (let t = 0; t < T; t++) {
      const o = (h * T + t) * S;
      const limit = g.causal ? g.offset + t + 1 : S;
      if (mask) for (let s = 0; s < limit; s++) if (mask[mo + s] < 0.5) sc[o + s] = -Infinity;
      softmaxRow(sc.byteOffset + 4 * o, limit);
      sc.fill(0, o + limit, o + S);
    }
  }
}
