/** Plain-TS fused low-rank kernels: reconstruct + RoPE, and folded attention (Eqs. 5.6, 5.9). */
import type { FoldedDims, FusedDims } from '../lowrank';
import type { RopeTables } from '../rope';
import { Tensor } from '../tensor';

/** `reconstructRope` kernel of the js backend: each key row reconstructed once (4 partial sums), then rotated. */
export function reconstructRopeJs(c: Tensor, basis: Tensor, tables: RopeTables, g: FusedDims): Tensor {
  const width = g.Hkv * g.D;
  const dc = g.dc;
  const cd = c.data;
  const bd = basis.data;
  const k = new Float32Array(g.B * g.S * width);
  const dc4 = dc - (dc % 4);
  for (let r = 0; r < g.B * g.S; r++) {
    const row = r * dc;
    for (let w = 0; w < width; w++) {
      const b0 = w * dc;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let q = 0;
      for (; q < dc4; q += 4) {
        a0 += cd[row + q] * bd[b0 + q];
        a1 += cd[row + q + 1] * bd[b0 + q + 1];
        a2 += cd[row + q + 2] * bd[b0 + q + 2];
        a3 += cd[row + q + 3] * bd[b0 + q + 3];
      }
      for (; q < dc; q++) a0 += cd[row + q] * bd[b0 + q];
      k[r * width + w] = a0 + a1 + a2 + a3;
    }
  }
  rotateRowsInPlace(k, tables, g);
  return new Tensor(k, [g.B, g.S, g.Hkv, g.D]);
}

/** Rotate reconstructed key rows k [B·S, Hkv·D] in place with the RoPE of each row's held position. */
export function rotateRowsInPlace(k: Float32Array, tables: RopeTables, g: FusedDims): void {
  const half = g.D / 2;
  const width = g.Hkv * g.D;
  const cos = tables.cos;
  const sin = tables.sin;
  for (let r = 0; r < g.B * g.S; r++) {
    const t = (r % g.S) * half;
    for (let h = 0; h < g.Hkv; h++) {
      const hb = r * width + h * g.D;
      for (let i = 0; i < half; i++) {
        const cs = cos[t + i];
        const sn = sin[t + i];
        const p = g.interleaved ? hb + 2 * i : hb + i;
        const pq = g.interleaved ? p + 1 : p + half;
        const a = k[p];
        const b = k[pq];
        k[p] = a * cs - b * sn;
        k[pq] = b * cs + a * sn;
      }
    }
  }
}

/**
 * `foldedAttention` kernel of the js backend: per (b, t, h) the visible scores (4 partial sums), a float64
 * softmax, y = Σ_s p_s·C_v[s] (d_c wide), then out += y·W_o'_h streaming the folded rows contiguously.
 */
export function foldedAttentionJs(
  q: Tensor,
  keys: Tensor,
  cv: Tensor,
  folded: Tensor,
  g: FoldedDims,
): Tensor {
  const { B, T, Hq, D, S, Hkv, dc, hidden, offset } = g;
  const group = Hq / Hkv;
  const scale = 1 / Math.sqrt(D);
  const qd = q.data;
  const kd = keys.data;
  const cd = cv.data;
  const fd = folded.data;
  const out = new Float32Array(B * T * hidden);
  const acc = new Float64Array(hidden);
  const w = new Float64Array(S);
  const y = new Float64Array(dc);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const last = offset + t;
      acc.fill(0);
      for (let h = 0; h < Hq; h++) {
        const kh = Math.floor(h / group);
        const qb = ((b * T + t) * Hq + h) * D;
        let max = -Infinity;
        for (let s = 0; s <= last; s++) {
          const kb = ((b * S + s) * Hkv + kh) * D;
          let d0 = 0;
          let d1 = 0;
          let d = 0;
          for (; d + 2 <= D; d += 2) {
            d0 += qd[qb + d] * kd[kb + d];
            d1 += qd[qb + d + 1] * kd[kb + d + 1];
          }
          for (; d < D; d++) d0 += qd[qb + d] * kd[kb + d];
          const sc = (d0 + d1) * scale;
          w[s] = sc;
          if (sc > max) max = sc;
        }
        let z = 0;
        for (let s = 0; s <= last; s++) z += w[s] = Math.exp(w[s] - max);
        y.fill(0);
        for (let s = 0; s <= last; s++) {
          const p = w[s] / z;
          const cb = (b * S + s) * dc;
          for (let c = 0; c < dc; c++) y[c] += p * cd[cb + c];
        }
        for (let c = 0; c < dc; c++) {
          const yc = y[c];
          const fb = (h * dc + c) * hidden;
          for (let j = 0; j < hidden; j++) acc[j] += yc * fd[fb + j];
        }
      }
      const o = (b * T + t) * hidden;
      for (let j = 0; j < hidden; j++) out[o + j] = acc[j];
    }
  }
  return new Tensor(out, [B, T, hidden]);
}
