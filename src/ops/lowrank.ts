/**
 * Fused ops for low-rank caches (thesis chapter 5, appendix H.1):
 *  - `reconstructRope`: keys held as d_c-dim projections taken BEFORE rotary embedding are reconstructed
 *    and rotated in one pass, k̃[b,s,h,j] = Σ_c C[b,s,c]·V[h·d + j, c] (Eq. 5.6), then RoPE at the held
 *    position; the partner element is reconstructed in the same thread, so full-width pre-RoPE keys never
 *    exist in memory;
 *  - `foldedAttention`: attention with the value up-projection folded into the output projection
 *    (Eq. 5.9): y_h = Σ_s p_s·C_v[s] stays d_c-dim, out_t = Σ_h y_h·W_o'_h.
 * Shape checks and float64 references here; kernels in gl/ and js/.
 */
import { ShapeError } from './errors';
import { dispatch } from './registry';
import type { RopeStyle, RopeTables } from './rope';
import { Tensor } from './tensor';
import type { FusedDims, FoldedDims } from './plans';
export type { FusedDims, FoldedDims } from './plans';

function check(c: Tensor, basis: Tensor, tables: RopeTables, Hkv: number, style: RopeStyle): FusedDims {
  if (c.rank !== 3)
    throw new ShapeError(`reconstructRope: compressed keys must be [B, S, d_c], got [${c.shape.join(', ')}]`);
  if (basis.rank !== 2)
    throw new ShapeError(`reconstructRope: basis must be [Hkv·D, d_c], got [${basis.shape.join(', ')}]`);
  const [B, S, dc] = c.shape;
  const [width, dcB] = basis.shape;
  if (dcB !== dc)
    throw new ShapeError(`reconstructRope: basis has ${dcB} columns but compressed keys have d_c = ${dc}`);
  if (!Number.isInteger(Hkv) || Hkv <= 0 || width % Hkv !== 0)
    throw new ShapeError(`reconstructRope: basis width ${width} is not a multiple of ${Hkv} K/V heads`);
  const D = width / Hkv;
  if (D % 2 !== 0) throw new ShapeError(`reconstructRope: head dimension ${D} must be even`);
  if (tables.cos.length !== S * (D / 2) || tables.sin.length !== S * (D / 2))
    throw new ShapeError(
      `reconstructRope: cos/sin tables have ${tables.cos.length} entries, expected S·D/2 = ${S}·${D / 2}`,
    );
  return { B, S, dc, Hkv, D, interleaved: style === 'interleaved' };
}

/** Options of `reconstructRope`. */
export interface ReconstructRopeOptions {
  /**
   * Write the keys here (at least B·S·Hkv·D floats; the result is a view of its first ones), e.g. a
   * scratch buffer in the wasm kernels' shared memory that the next op reads in place.
   */
  out?: Float32Array;
}

/**
 * Reconstruct pre-RoPE keys from their compressed rows and rotate them, fused (appendix H.1, Eq. 5.6).
 * c [B, S, d_c], basis V_c [Hkv·D, d_c], tables for the S held positions → keys [B, S, Hkv, D].
 */
export function reconstructRope(
  c: Tensor,
  basis: Tensor,
  tables: RopeTables,
  Hkv: number,
  style: RopeStyle = 'half',
  opts: ReconstructRopeOptions = {},
): Tensor {
  const g = check(c, basis, tables, Hkv, style);
  const n = g.B * g.S * g.Hkv * g.D;
  const out = opts.out;
  if (out && out.length < n)
    throw new ShapeError(`reconstructRope: out has ${out.length} elements, the keys need ${n}`);
  if (g.B * g.S === 0) return Tensor.zeros([g.B, g.S, g.Hkv, g.D]);
  if (!out) return dispatch('reconstructRope', c, basis, tables, g);
  const view = out.subarray(0, n);
  const r = dispatch('reconstructRope', c, basis, tables, { ...g, out: view });
  if (r.data !== view) view.set(r.data);
  return new Tensor(view, [g.B, g.S, g.Hkv, g.D]);
}

/** Plain-TS reference for `reconstructRope`: reconstruct in float64, then rotate (two separate steps). */
export function reconstructRopeReference(
  c: Tensor,
  basis: Tensor,
  tables: RopeTables,
  Hkv: number,
  style: RopeStyle = 'half',
): Tensor {
  return reconstructRopeRef(c, basis, tables, check(c, basis, tables, Hkv, style));
}

/** Float64 reference kernel of `reconstructRope`. */
export function reconstructRopeRef(c: Tensor, basis: Tensor, tables: RopeTables, g: FusedDims): Tensor {
  const style: RopeStyle = g.interleaved ? 'interleaved' : 'half';
  const width = g.Hkv * g.D;
  const half = g.D / 2;
  const out = new Float32Array(g.B * g.S * width);
  const k = new Float64Array(width);
  for (let b = 0; b < g.B; b++) {
    for (let s = 0; s < g.S; s++) {
      const row = (b * g.S + s) * g.dc;
      for (let w = 0; w < width; w++) {
        let acc = 0;
        for (let q = 0; q < g.dc; q++) acc += c.data[row + q] * basis.data[w * g.dc + q];
        k[w] = acc;
      }
      for (let h = 0; h < g.Hkv; h++) {
        for (let i = 0; i < half; i++) {
          const cs = tables.cos[s * half + i];
          const sn = tables.sin[s * half + i];
          const [p, q] = style === 'interleaved' ? [2 * i, 2 * i + 1] : [i, i + half];
          const base = (b * g.S + s) * width + h * g.D;
          out[base + p] = k[h * g.D + p] * cs - k[h * g.D + q] * sn;
          out[base + q] = k[h * g.D + q] * cs + k[h * g.D + p] * sn;
        }
      }
    }
  }
  return new Tensor(out, [g.B, g.S, g.Hkv, g.D]);
}

function foldedDims(q: Tensor, keys: Tensor, cv: Tensor, folded: Tensor, offset: number): FoldedDims {
  if (q.rank !== 4 || keys.rank !== 4 || cv.rank !== 3)
    throw new ShapeError(
      `foldedAttention: q [${q.shape.join(', ')}] and keys [${keys.shape.join(', ')}] must be rank 4, cv [${cv.shape.join(', ')}] rank 3`,
    );
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
  return { B, T, Hq, D, S, Hkv, dc, hidden: folded.shape[1], offset };
}

/**
 * Attention with the value up-projection folded into the output projection (Eq. 5.9).
 * q [B, T, Hq, D] (rotated), keys [B, S, Hkv, D] (rotated), cv [B, S, d_c], folded W_o' [Hq·d_c, hidden]
 * → [B, T, hidden]. Keys past offset + T − 1 are ignored (causal), so S may include padding.
 */
export function foldedAttention(q: Tensor, keys: Tensor, cv: Tensor, folded: Tensor, offset: number): Tensor {
  const g = foldedDims(q, keys, cv, folded, offset);
  if (g.B * g.T * g.hidden === 0) return Tensor.zeros([g.B, g.T, g.hidden]);
  return dispatch('foldedAttention', q, keys, cv, folded, g);
}

/** Plain-TS float64 reference for `foldedAttention`. */
export function foldedAttentionReference(
  q: Tensor,
  keys: Tensor,
  cv: Tensor,
  folded: Tensor,
  offset: number,
): Tensor {
  return foldedAttentionRef(q, keys, cv, folded, foldedDims(q, keys, cv, folded, offset));
}

/** Float64 reference kernel of `foldedAttention`. */
export function foldedAttentionRef(
  q: Tensor,
  keys: Tensor,
  cv: Tensor,
  folded: Tensor,
  dims: FoldedDims,
): Tensor {
  const { B, T, Hq, D, S, Hkv, dc, offset } = dims;
  const hidden = dims.hidden;
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
