/**
 * An independent float64 reference of one attention layer (for the cache tests): projections,
 * RoPE, explicit repetition of each K/V head for its query heads (GQA, thesis §5.4.3), causal softmax
 * attention and the output projection — no ops kernels involved.
 */
import { Tensor, ropeInvFreq, type RopeStyle } from '../../src/ops';
import { randn } from './helpers';

export interface SynthLayer {
  hidden: number;
  Hq: number;
  Hkv: number;
  D: number;
  wq: Tensor;
  wk: Tensor;
  wv: Tensor;
  wo: Tensor;
  invFreq: Float64Array;
  style: RopeStyle;
}

export function synthLayer(seed: number, style: RopeStyle = 'half'): SynthLayer {
  const hidden = 48;
  const Hq = 6;
  const Hkv = 2;
  const D = 8;
  // Decaying column scales so the K/V spectra are not flat (closer to trained weights).
  const wk = randn([hidden, Hkv * D], seed + 1, 0.3);
  const wv = randn([hidden, Hkv * D], seed + 2, 0.3);
  for (let i = 0; i < hidden; i++)
    for (let j = 0; j < Hkv * D; j++) {
      wk.data[i * Hkv * D + j] *= 1 / (1 + 0.3 * j);
      wv.data[i * Hkv * D + j] *= 1 / (1 + 0.2 * ((j * 7) % 16));
    }
  return {
    hidden,
    Hq,
    Hkv,
    D,
    wq: randn([hidden, Hq * D], seed, 0.3),
    wk,
    wv,
    wo: randn([Hq * D, hidden], seed + 3, 0.2),
    invFreq: ropeInvFreq(D, 10000),
    style,
  };
}

export function project(x: Tensor, w: Tensor): Float64Array {
  const [n, k] = [x.size / x.shape[x.rank - 1], x.shape[x.rank - 1]];
  const m = w.shape[1];
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) s += x.data[i * k + l] * w.data[l * m + j];
      out[i * m + j] = s;
    }
  return out;
}

/** Rotate rows [B, T, H, D] (float64) at positions 0..T-1. */
export function rope(
  a: Float64Array,
  B: number,
  T: number,
  H: number,
  D: number,
  invFreq: Float64Array,
  style: RopeStyle,
): Float64Array {
  const out = new Float64Array(a.length);
  const half = D / 2;
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < H; h++) {
        const base = ((b * T + t) * H + h) * D;
        for (let i = 0; i < half; i++) {
          const c = Math.cos(t * invFreq[i]);
          const s = Math.sin(t * invFreq[i]);
          const [p, q] = style === 'interleaved' ? [2 * i, 2 * i + 1] : [i, i + half];
          out[base + p] = a[base + p] * c - a[base + q] * s;
          out[base + q] = a[base + q] * c + a[base + p] * s;
        }
      }
  return out;
}

/** Layer output [B, T, hidden] with the given K and V weights (full or low-rank). */
export function layerReference(L: SynthLayer, x: Tensor, wk: Tensor, wv: Tensor): Float64Array {
  const [B, T] = x.shape;
  const { Hq, Hkv, D, hidden } = L;
  const q = rope(project(x, L.wq), B, T, Hq, D, L.invFreq, L.style);
  const k = rope(project(x, wk), B, T, Hkv, D, L.invFreq, L.style);
  const v = project(x, wv);
  // Repeat each K/V head for its Hq/Hkv query heads.
  const group = Hq / Hkv;
  const kr = new Float64Array(B * T * Hq * D);
  const vr = new Float64Array(B * T * Hq * D);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < Hq; h++)
        for (let d = 0; d < D; d++) {
          const src = ((b * T + t) * Hkv + Math.floor(h / group)) * D + d;
          kr[((b * T + t) * Hq + h) * D + d] = k[src];
          vr[((b * T + t) * Hq + h) * D + d] = v[src];
        }
  const att = new Float64Array(B * T * Hq * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++)
      for (let t = 0; t < T; t++) {
        const w = new Float64Array(t + 1);
        let max = -Infinity;
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let d = 0; d < D; d++)
            dot += q[((b * T + t) * Hq + h) * D + d] * kr[((b * T + s) * Hq + h) * D + d];
          w[s] = dot / Math.sqrt(D);
          max = Math.max(max, w[s]);
        }
        let z = 0;
        for (let s = 0; s <= t; s++) z += w[s] = Math.exp(w[s] - max);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let s = 0; s <= t; s++) acc += w[s] * vr[((b * T + s) * Hq + h) * D + d];
          att[((b * T + t) * Hq + h) * D + d] = acc / z;
        }
      }
  const out = new Float64Array(B * T * hidden);
  for (let r = 0; r < B * T; r++)
    for (let j = 0; j < hidden; j++) {
      let s = 0;
      for (let l = 0; l < Hq * D; l++) s += att[r * Hq * D + l] * L.wo.data[l * hidden + j];
      out[r * hidden + j] = s;
    }
  return out;
}

/** Rotated queries [B, T, Hq, D] as a float32 tensor (what the decoder hands to attend). */
export function queries(L: SynthLayer, x: Tensor): Tensor {
  const [B, T] = x.shape;
  return new Tensor(Float32Array.from(rope(project(x, L.wq), B, T, L.Hq, L.D, L.invFreq, L.style)), [
    B,
    T,
    L.Hq,
    L.D,
  ]);
}
