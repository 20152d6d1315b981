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
 * The masked softmax is the module's SIMD row kernel (float32, masked keys get exactly 0). Causal calls
 * run both products per block of CAUSAL_BLOCK query rows over the keys the block's last row may see, so
 * only the hidden part inside each diagonal block is computed (and multiplied by its zeros).
 */
import type { AttentionDims } from '../plans';
import { outputBuffer } from '../buffers';
import { sgemm } from './sgemm';
import type { Job } from './pool';
import { requireKernels, type WasmKernels } from './runtime';

/** Query rows per block of a causal call (see `attentionBatchedGemm`). */
export const CAUSAL_BLOCK = 64;

/** Attention output [B, T, Hq, D] as a Float32Array (see the module comment). */
export function attentionBatchedGemm(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  g: AttentionDims,
): Float32Array {
  const { B, T, Hq, D, S, Hkv } = g;
  const G = Hq / Hkv;
  const kernels = requireKernels();
  const { arena, ew } = kernels;
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
    // Causal rows in blocks of query rows: block [t0, t1) multiplies only the keys its last row may see
    // (0..offset + t1 − 1), so the products skip most of the hidden upper triangle (T = S = 512 in
    // blocks of 64: 56 % of the full products' work).
    const block = g.causal ? CAUSAL_BLOCK : T;
    const blocks: { t0: number; rows: number; limit: number }[] = [];
    for (let t0 = 0; t0 < T; t0 += block) {
      const rows = Math.min(block, T - t0);
      blocks.push({ t0, rows, limit: g.causal ? Math.min(S, g.offset + t0 + rows) : S });
    }
    for (let b = 0; b < B; b++) {
      const kOff = b * S * kvRow;
      for (const { t0, rows, limit } of blocks) {
        for (let gi = 0; gi < G; gi++) {
          // scores of heads h = kh·G + gi at h·T·S: batch over kh
          sgemm(
            false,
            true,
            rows,
            limit,
            D,
            qa.subarray(((b * T + t0) * Hq + gi) * D),
            ka.subarray(kOff),
            scores.subarray(gi * T * S + t0 * S),
            {
              batch: Hkv,
              lda: Hq * D,
              strideA: G * D,
              ldb: kvRow,
              strideB: D,
              ldc: S,
              strideC: G * T * S,
              alpha: g.scale,
            },
          );
        }
      }
      if (g.mask) maskedSoftmaxRows(scores, Hq, T, S, g, b, softmaxRow);
      else softmaxHeads(kernels, scores, Hq, T, S, g.causal ? g.offset + 1 : S, g.causal ? 1 : 0, block);
      for (const { t0, rows, limit } of blocks) {
        for (let gi = 0; gi < G; gi++) {
          sgemm(
            false,
            false,
            rows,
            D,
            limit,
            scores.subarray(gi * T * S + t0 * S),
            va.subarray(kOff),
            oa.subarray(((b * T + t0) * Hq + gi) * D),
            { batch: Hkv, lda: S, strideA: G * T * S, ldb: kvRow, strideB: D, ldc: Hq * D, strideC: G * D },
          );
        }
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
 * The score rows of every head in place without a key mask (`softmaxRowsCausal`: row t over its first
 * lim0 + t·step keys, then zeros up to `zpad` further keys), the heads split over the pool's threads.
 */
function softmaxHeads(
  k: WasmKernels,
  sc: Float32Array,
  Hq: number,
  T: number,
  S: number,
  lim0: number,
  step: number,
  zpad: number,
): void {
  const parts = Math.min(k.threads, Hq);
  const per = Math.ceil(Hq / parts);
  const jobs: Job[] = [];
  for (let h0 = 0; h0 < Hq; h0 += per) {
    const heads = Math.min(per, Hq - h0);
    jobs.push({
      name: 'softmaxRowsCausal',
      args: [sc.byteOffset + 4 * h0 * T * S, heads, T, S, lim0, step, zpad],
    });
  }
  k.pool.run(jobs);
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
