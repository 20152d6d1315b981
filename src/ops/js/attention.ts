/**
 * Plain-TS attention with contiguous inner loops: the scores of one query row against its visible keys
 * only (causal rows stop at their own position), a float64 softmax, then the value rows accumulated in
 * order. (The wasm backend runs prefill-sized attention as batched GEMMs: src/ops/wasm/attention.ts.)
 */
import type { AttentionDims } from '../attention';
import { Tensor } from '../tensor';

/** Softmax of w[0..limit) in place (hidden keys carry -Infinity and get 0). */
function softmaxInPlace(w: Float64Array, limit: number): void {
  let max = -Infinity;
  for (let s = 0; s < limit; s++) if (w[s] > max) max = w[s];
  let z = 0;
  for (let s = 0; s < limit; s++) {
    const e = Math.exp(w[s] - max);
    w[s] = e;
    z += e;
  }
  const inv = 1 / z;
  for (let s = 0; s < limit; s++) w[s] *= inv;
}

/** Scores of query row qBase against keys 0..limit of K/V head base kvBase, scaled, masked. */
function scoreRow(
  qd: Float32Array,
  qBase: number,
  kd: Float32Array,
  kvBase: number,
  kvRow: number,
  g: AttentionDims,
  b: number,
  limit: number,
  w: Float64Array,
): void {
  const D = g.D;
  for (let s = 0; s < limit; s++) {
    if (g.mask && g.mask[b * g.S + s] < 0.5) {
      w[s] = -Infinity;
      continue;
    }
    const kb = kvBase + s * kvRow;
    let d0 = 0;
    let d1 = 0;
    let d2 = 0;
    let d3 = 0;
    let d = 0;
    for (; d + 4 <= D; d += 4) {
      d0 += qd[qBase + d] * kd[kb + d];
      d1 += qd[qBase + d + 1] * kd[kb + d + 1];
      d2 += qd[qBase + d + 2] * kd[kb + d + 2];
      d3 += qd[qBase + d + 3] * kd[kb + d + 3];
    }
    for (; d < D; d++) d0 += qd[qBase + d] * kd[kb + d];
    w[s] = (d0 + d1 + d2 + d3) * g.scale;
  }
}

/** `attention` kernel of the js backend. */
export function attentionJs(q: Tensor, k: Tensor, v: Tensor, g: AttentionDims): Tensor {
  const { B, T, Hq, D, S, Hkv } = g;
  const group = Hq / Hkv;
  const qd = q.data;
  const kd = k.data;
  const vd = v.data;
  const out = new Float32Array(q.size);
  const w = new Float64Array(S);
  const kvRow = Hkv * D;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const limit = g.causal ? g.offset + t + 1 : S;
      for (let h = 0; h < Hq; h++) {
        const kh = Math.floor(h / group);
        const qBase = ((b * T + t) * Hq + h) * D;
        const kvBase = b * S * kvRow + kh * D;
        scoreRow(qd, qBase, kd, kvBase, kvRow, g, b, limit, w);
        softmaxInPlace(w, limit);
        let d = 0;
        for (; d + 4 <= D; d += 4) {
          let a0 = 0;
          let a1 = 0;
          let a2 = 0;
          let a3 = 0;
          for (let s = 0; s < limit; s++) {
            const p = w[s];
            const vb = kvBase + s * kvRow + d;
            a0 += p * vd[vb];
            a1 += p * vd[vb + 1];
            a2 += p * vd[vb + 2];
            a3 += p * vd[vb + 3];
          }
          out[qBase + d] = a0;
          out[qBase + d + 1] = a1;
          out[qBase + d + 2] = a2;
          out[qBase + d + 3] = a3;
        }
        for (; d < D; d++) {
          let a0 = 0;
          for (let s = 0; s < limit; s++) a0 += w[s] * vd[kvBase + s * kvRow + d];
          out[qBase + d] = a0;
        }
      }
    }
  }
  return new Tensor(out, q.shape);
}

/** `attentionProbs` kernel of the js backend: [B, Hq, T, S]. */
export function attentionProbsJs(q: Tensor, k: Tensor, g: AttentionDims): Tensor {
  const { B, T, Hq, D, S, Hkv } = g;
  const group = Hq / Hkv;
  const out = new Float32Array(B * Hq * T * S);
  const w = new Float64Array(S);
  const kvRow = Hkv * D;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++)
      for (let t = 0; t < T; t++) {
        const limit = g.causal ? g.offset + t + 1 : S;
        scoreRow(
          q.data,
          ((b * T + t) * Hq + h) * D,
          k.data,
          b * S * kvRow + Math.floor(h / group) * D,
          kvRow,
          g,
          b,
          limit,
          w,
        );
        softmaxInPlace(w, limit);
        const o = ((b * Hq + h) * T + t) * S;
        for (let s = 0; s < limit; s++) out[o + s] = w[s];
      }
  return new Tensor(out, [B, Hq, T, S]);
}

/** out[M, N] = x[M, K] · w[N, K]ᵀ on contiguous buffers (the GEMM an attention backend supplies). */
export type GemmNT = (x: Float32Array, w: Float32Array, M: number, K: number, N: number) => Float32Array;
