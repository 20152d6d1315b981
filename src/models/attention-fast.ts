/**
 * Causal / masked grouped-query attention in plain TS with contiguous inner loops: the scores of one
 * query row against its visible keys only (causal rows stop at their own position), a float64
 * softmax, then the value rows accumulated in order. Same semantics as `ops.attention`, against
 * whose reference twin it is tested; it replaces that reference in the 'js' and 'wasm' engines
 * because the reference's strided loops dominate prefill time.
 */
import type { AttentionOptions } from '../ops/attention';
import { Tensor } from '../ops/tensor';
import { ShapeError, ValueError } from '../errors';

interface AttentionShape {
  B: number;
  T: number;
  Hq: number;
  D: number;
  S: number;
  Hkv: number;
  offset: number;
  mask: Float32Array | undefined;
}

/** Check q [B, T, Hq, D], k/v [B, S, Hkv, D], the causal range and the key mask; return the sizes. */
function checkAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): AttentionShape {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4 || k.shape.join() !== v.shape.join()) {
    throw new ShapeError(
      `attention: q [${q.shape.join(', ')}], k [${k.shape.join(', ')}], v [${v.shape.join(', ')}] must be [B, T, Hq, D] and [B, S, Hkv, D]`,
    );
  }
  const [B, T, Hq, D] = q.shape;
  const [Bk, S, Hkv, Dk] = k.shape;
  if (Bk !== B || Dk !== D || Hkv === 0 || Hq % Hkv !== 0) {
    throw new ShapeError(`attention: incompatible q [${q.shape.join(', ')}] and k [${k.shape.join(', ')}]`);
  }
  const offset = opts.queryOffset ?? S - T;
  if (opts.causal && (offset < 0 || offset + T > S)) {
    throw new ShapeError(
      `attention: causal queries at ${offset}..${offset + T - 1} need keys beyond S = ${S}`,
    );
  }
  const mask = opts.keyMask?.data;
  if (mask && mask.length !== B * S) throw new ShapeError(`attention: keyMask must be [${B}, ${S}]`);
  return { B, T, Hq, D, S, Hkv, offset, mask };
}

/** Attention output [B, T, Hq, D] for q [B, T, Hq, D] and k, v [B, S, Hkv, D]. */
export function attentionFast(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const { B, T, Hq, D, S, Hkv, offset, mask } = checkAttention(q, k, v, opts);
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const group = Hq / Hkv;
  const qd = q.data;
  const kd = k.data;
  const vd = v.data;
  const out = new Float32Array(q.size);
  const w = new Float64Array(S);
  const kvRow = Hkv * D;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const limit = opts.causal ? offset + t + 1 : S;
      for (let h = 0; h < Hq; h++) {
        const kh = Math.floor(h / group);
        const qBase = ((b * T + t) * Hq + h) * D;
        const kvBase = b * S * kvRow + kh * D;
        let max = -Infinity;
        for (let s = 0; s < limit; s++) {
          if (mask && mask[b * S + s] < 0.5) {
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
          const sc = (d0 + d1 + d2 + d3) * scale;
          w[s] = sc;
          if (sc > max) max = sc;
        }
        if (max === -Infinity) throw new ValueError(`attention: every key is masked for batch row ${b}`);
        let z = 0;
        for (let s = 0; s < limit; s++) {
          const e = Math.exp(w[s] - max);
          w[s] = e;
          z += e;
        }
        const inv = 1 / z;
        for (let s = 0; s < limit; s++) w[s] *= inv;
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

/** Smallest multiple of 4 ≥ n (the SIMD kernel's inner dimension must be a multiple of 4). */
function ceil4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

/**
 * The same attention computed as two matrix products per (batch, KV head) on a `linear` kernel
 * (y = x · Wᵀ): scores = Q_g · K_hᵀ for the G query heads sharing KV head h stacked as rows, a float64
 * masked softmax, then out = P · V_h as P · (V_hᵀ)ᵀ. With the SIMD kernel this is much faster than
 * the scalar loops for prefill (T ≫ 1); causal rows compute their masked half too (≤ 2× the work).
 */
export function attentionGemm(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: AttentionOptions,
  linear: (x: Tensor, w: Tensor) => Tensor,
): Tensor {
  const { B, T, Hq, D, S, Hkv, offset, mask } = checkAttention(q, k, v, opts);
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const G = Hq / Hkv;
  const rows = G * T;
  const Sp = ceil4(S);
  const out = new Float32Array(q.size);
  const qs = new Float32Array(rows * D);
  const ks = new Float32Array(S * D);
  const vt = new Float32Array(D * Sp);
  const p = new Float32Array(rows * Sp);
  const w = new Float64Array(S);
  for (let b = 0; b < B; b++) {
    for (let kh = 0; kh < Hkv; kh++) {
      for (let g = 0; g < G; g++) {
        for (let t = 0; t < T; t++) {
          const src = ((b * T + t) * Hq + kh * G + g) * D;
          qs.set(q.data.subarray(src, src + D), (g * T + t) * D);
        }
      }
      for (let s = 0; s < S; s++) {
        const src = ((b * S + s) * Hkv + kh) * D;
        ks.set(k.data.subarray(src, src + D), s * D);
        for (let d = 0; d < D; d++) vt[d * Sp + s] = v.data[src + d];
      }
      const scores = linear(new Tensor(qs, [rows, D]), new Tensor(ks, [S, D])).data;
      p.fill(0);
      for (let r = 0; r < rows; r++) {
        const t = r % T;
        const limit = opts.causal ? offset + t + 1 : S;
        let max = -Infinity;
        for (let s = 0; s < limit; s++) {
          if (mask && mask[b * S + s] < 0.5) {
            w[s] = -Infinity;
            continue;
          }
          const sc = scores[r * S + s] * scale;
          w[s] = sc;
          if (sc > max) max = sc;
        }
        if (max === -Infinity) throw new ValueError(`attention: every key is masked for batch row ${b}`);
        let z = 0;
        for (let s = 0; s < limit; s++) {
          const e = Math.exp(w[s] - max);
          w[s] = e;
          z += e;
        }
        for (let s = 0; s < limit; s++) p[r * Sp + s] = w[s] / z;
      }
      const o = linear(new Tensor(p, [rows, Sp]), new Tensor(vt, [D, Sp])).data;
      for (let g = 0; g < G; g++) {
        for (let t = 0; t < T; t++) {
          const dst = ((b * T + t) * Hq + kh * G + g) * D;
          out.set(o.subarray((g * T + t) * D, (g * T + t + 1) * D), dst);
        }
      }
    }
  }
  return new Tensor(out, q.shape);
}
