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
