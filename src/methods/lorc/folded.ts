/**
 * Attention with the value up-projection folded into the output projection (Eq. 5.9), plain TS:
 * for each query head h (K/V head g = ⌊h/(Hq/Hkv)⌋, §5.4.3) and query t at absolute position
 * offset + t, p = softmax(q_t·k_s/√D, s ≤ offset + t); y_h = Σ_s p_s·C_v[s] (d_c-dim, never
 * reconstructed); out_t = Σ_h y_h·W_o'_h. The gpu.js path composes the same from ops kernels.
 */
import { ShapeError, Tensor } from '../../ops';

/**
 * q [B, T, Hq, D] (rotated), keys [B, S, Hkv, D] (rotated), cv [B, S, d_c], folded W_o' [Hq·d_c, hidden]
 * → [B, T, hidden]. Keys past offset + T − 1 are ignored (causal), so S may include padding.
 */
export function foldedAttentionReference(
  q: Tensor,
  keys: Tensor,
  cv: Tensor,
  folded: Tensor,
  offset: number,
): Tensor {
  const [B, T, Hq, D] = q.shape;
  const [Bk, S, Hkv, Dk] = keys.shape;
  const dc = cv.shape[2];
  if (
    q.rank !== 4 ||
    keys.rank !== 4 ||
    Bk !== B ||
    Dk !== D ||
    Hq % Hkv !== 0 ||
    cv.shape[0] !== B ||
    cv.shape[1] !== S
  )
    throw new ShapeError(
      `foldedAttention: q [${q.shape.join(', ')}], keys [${keys.shape.join(', ')}], cv [${cv.shape.join(', ')}] do not fit`,
    );
  if (folded.rank !== 2 || folded.shape[0] !== Hq * dc)
    throw new ShapeError(`foldedAttention: W_o' [${folded.shape.join(', ')}] must have ${Hq}·${dc} rows`);
  if (offset < 0 || offset + T > S)
    throw new ShapeError(
      `foldedAttention: queries at ${offset}..${offset + T - 1} need keys beyond S = ${S}`,
    );
  const hidden = folded.shape[1];
  const group = Hq / Hkv;
  const scale = 1 / Math.sqrt(D);
  const out = new Float64Array(B * T * hidden);
  const w = new Float64Array(S);
  const y = new Float64Array(dc);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const last = offset + t;
      const o = (b * T + t) * hidden;
      for (let h = 0; h < Hq; h++) {
        const g = Math.floor(h / group);
        const qb = ((b * T + t) * Hq + h) * D;
        let max = -Infinity;
        for (let s = 0; s <= last; s++) {
          const kb = ((b * S + s) * Hkv + g) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q.data[qb + d] * keys.data[kb + d];
          w[s] = dot * scale;
          if (w[s] > max) max = w[s];
        }
        let z = 0;
        for (let s = 0; s <= last; s++) z += w[s] = Math.exp(w[s] - max);
        y.fill(0);
        for (let s = 0; s <= last; s++) {
          const p = w[s] / z;
          const cb = (b * S + s) * dc;
          for (let c = 0; c < dc; c++) y[c] += p * cv.data[cb + c];
        }
        for (let c = 0; c < dc; c++) {
          const yc = y[c];
          const fb = (h * dc + c) * hidden;
          for (let j = 0; j < hidden; j++) out[o + j] += yc * folded.data[fb + j];
        }
      }
    }
  }
  return new Tensor(Float32Array.from(out), [B, T, hidden]);
}

type Linear = (x: Tensor, w: Tensor) => Tensor;

/**
 * The CPU fast path of folded attention (Eq. 5.9) for the cache's 'js' engine: same maths as
 * `foldedAttentionReference`, with the folded output projection given transposed, W_o'ᵀ
 * [hidden, Hq·d_c], so the last step is one product on the decoder's linear kernel. For a few
 * queries (decode) scores and y_h = Σ_s p_s·C_v[s] run as contiguous scalar loops; for many queries
 * (prefill) each K/V head's scores Q_g·K_gᵀ and y = P·C_v run as matrix products on `linear`.
 */
export function foldedAttentionFast(
  q: Tensor,
  keys: Tensor,
  cv: Tensor,
  foldedT: Tensor,
  offset: number,
  linear: Linear,
): Tensor {
  const [B, T, Hq, D] = q.shape;
  const [Bk, S, Hkv, Dk] = keys.shape;
  const dc = cv.shape[2];
  if (
    q.rank !== 4 ||
    keys.rank !== 4 ||
    cv.rank !== 3 ||
    Bk !== B ||
    Dk !== D ||
    Hq % Hkv !== 0 ||
    cv.shape[0] !== B ||
    cv.shape[1] !== S
  )
    throw new ShapeError(
      `foldedAttention: q [${q.shape.join(', ')}], keys [${keys.shape.join(', ')}], cv [${cv.shape.join(', ')}] do not fit`,
    );
  if (foldedT.rank !== 2 || foldedT.shape[1] !== Hq * dc)
    throw new ShapeError(
      `foldedAttention: W_o'ᵀ [${foldedT.shape.join(', ')}] must have ${Hq}·${dc} columns`,
    );
  if (offset < 0 || offset + T > S)
    throw new ShapeError(
      `foldedAttention: queries at ${offset}..${offset + T - 1} need keys beyond S = ${S}`,
    );
  const y = T >= 8 ? foldedGemm(q, keys, cv, offset, linear) : foldedLoops(q, keys, cv, offset);
  return linear(new Tensor(y, [B * T, Hq * dc]), foldedT).reshape([B, T, foldedT.shape[0]]);
}

/** y [B, T, Hq, d_c] with scalar loops (few queries). */
function foldedLoops(q: Tensor, keys: Tensor, cv: Tensor, offset: number): Float32Array {
  const [B, T, Hq, D] = q.shape;
  const [, S, Hkv] = keys.shape;
  const dc = cv.shape[2];
  const group = Hq / Hkv;
  const scale = 1 / Math.sqrt(D);
  const qd = q.data;
  const kd = keys.data;
  const cd = cv.data;
  const y = new Float32Array(B * T * Hq * dc);
  const w = new Float64Array(S);
  const acc = new Float64Array(dc);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const limit = offset + t + 1;
      for (let h = 0; h < Hq; h++) {
        const g = Math.floor(h / group);
        const qb = ((b * T + t) * Hq + h) * D;
        let max = -Infinity;
        for (let s = 0; s < limit; s++) {
          const kb = ((b * S + s) * Hkv + g) * D;
          let d0 = 0;
          let d1 = 0;
          let d2 = 0;
          let d3 = 0;
          let d = 0;
          for (; d + 4 <= D; d += 4) {
            d0 += qd[qb + d] * kd[kb + d];
            d1 += qd[qb + d + 1] * kd[kb + d + 1];
            d2 += qd[qb + d + 2] * kd[kb + d + 2];
            d3 += qd[qb + d + 3] * kd[kb + d + 3];
          }
          for (; d < D; d++) d0 += qd[qb + d] * kd[kb + d];
          const sc = (d0 + d1 + d2 + d3) * scale;
          w[s] = sc;
          if (sc > max) max = sc;
        }
        let z = 0;
        for (let s = 0; s < limit; s++) z += w[s] = Math.exp(w[s] - max);
        acc.fill(0);
        for (let s = 0; s < limit; s++) {
          const p = w[s] / z;
          const cb = (b * S + s) * dc;
          for (let c = 0; c < dc; c++) acc[c] += p * cd[cb + c];
        }
        y.set(acc, ((b * T + t) * Hq + h) * dc);
      }
    }
  }
  return y;
}

/** y [B, T, Hq, d_c] as two matrix products per (batch, K/V head) on `linear` (many queries). */
function foldedGemm(q: Tensor, keys: Tensor, cv: Tensor, offset: number, linear: Linear): Float32Array {
  const [B, T, Hq, D] = q.shape;
  const [, S, Hkv] = keys.shape;
  const dc = cv.shape[2];
  const G = Hq / Hkv;
  const rows = G * T;
  const Sp = Math.ceil(S / 4) * 4; // the SIMD kernel's inner dimension: a multiple of 4
  const scale = 1 / Math.sqrt(D);
  const y = new Float32Array(B * T * Hq * dc);
  const qs = new Float32Array(rows * D);
  const ks = new Float32Array(S * D);
  const cvT = new Float32Array(dc * Sp);
  const p = new Float32Array(rows * Sp);
  const w = new Float64Array(S);
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S; s++) for (let c = 0; c < dc; c++) cvT[c * Sp + s] = cv.data[(b * S + s) * dc + c];
    for (let g = 0; g < Hkv; g++) {
      for (let j = 0; j < G; j++)
        for (let t = 0; t < T; t++) {
          const src = ((b * T + t) * Hq + g * G + j) * D;
          qs.set(q.data.subarray(src, src + D), (j * T + t) * D);
        }
      for (let s = 0; s < S; s++) {
        const src = ((b * S + s) * Hkv + g) * D;
        ks.set(keys.data.subarray(src, src + D), s * D);
      }
      const scores = linear(new Tensor(qs, [rows, D]), new Tensor(ks, [S, D])).data;
      p.fill(0);
      for (let r = 0; r < rows; r++) {
        const limit = offset + (r % T) + 1;
        let max = -Infinity;
        for (let s = 0; s < limit; s++) {
          const sc = scores[r * S + s] * scale;
          w[s] = sc;
          if (sc > max) max = sc;
        }
        let z = 0;
        for (let s = 0; s < limit; s++) z += w[s] = Math.exp(w[s] - max);
        for (let s = 0; s < limit; s++) p[r * Sp + s] = w[s] / z;
      }
      const o = linear(new Tensor(p, [rows, Sp]), new Tensor(cvT, [dc, Sp])).data;
      for (let j = 0; j < G; j++)
        for (let t = 0; t < T; t++)
          y.set(o.subarray((j * T + t) * dc, (j * T + t + 1) * dc), ((b * T + t) * Hq + g * G + j) * dc);
    }
  }
  return y;
}
