/**
 * The fused read kernel of the low-rank key cache (thesis appendix H.1): keys are held as d_c-dim
 * projections taken BEFORE rotary embedding; when attention reads them, each output element is
 * reconstructed from the compressed row and rotated in one pass:
 *   k̃[b,s,h,j] = Σ_c C[b,s,c]·V[h·d + j, c]                       (reconstruction, Eq. 5.6)
 *   out[b,s,h,j] = k̃[j]·cos θ_{s,i} ∓ k̃[partner(j)]·sin θ_{s,i}   (RoPE at the held position)
 * The partner element is reconstructed in the same thread, so the full-width pre-RoPE keys never
 * exist in memory. `reconstructRopeReference` is the plain-TS twin (float64 accumulation).
 */
import { runKernel } from '../../ops/backend';
import type { KernelThis } from '../../ops/kernel-this';
import { ShapeError, Tensor, type RopeStyle, type RopeTables } from '../../ops';
import { linearWasm } from '../../models';

interface FusedConsts {
  dc: number;
  Hkv: number;
  D: number;
  half: number;
  S: number;
  interleaved: number;
}

/** gpu.js kernel over output [D, Hkv, B·S]: reconstruct a key element and its RoPE partner, rotate. */
export function reconstructRopeKernel(
  this: KernelThis<FusedConsts>,
  c: number[],
  basis: number[],
  cos: number[],
  sin: number[],
): number {
  const j = this.thread.x;
  const h = this.thread.y;
  const z = this.thread.z;
  const b = Math.floor((z + 0.5) / this.constants.S);
  const s = z - b * this.constants.S;
  let i = 0;
  let partner = 0;
  let sign = 1;
  if (this.constants.interleaved === 1) {
    i = Math.floor((j + 0.5) / 2);
    if (j - 2 * i < 0.5) {
      partner = j + 1;
      sign = -1;
    } else {
      partner = j - 1;
      sign = 1;
    }
  } else {
    if (j < this.constants.half) {
      i = j;
      partner = j + this.constants.half;
      sign = -1;
    } else {
      i = j - this.constants.half;
      partner = j - this.constants.half;
      sign = 1;
    }
  }
  const cBase = z * this.constants.dc;
  const rowA = (h * this.constants.D + j) * this.constants.dc;
  const rowB = (h * this.constants.D + partner) * this.constants.dc;
  let a = 0;
  let p = 0;
  for (let k = 0; k < this.constants.dc; k++) {
    const ck = c[cBase + k];
    a += ck * basis[rowA + k];
    p += ck * basis[rowB + k];
  }
  const ti = s * this.constants.half + i;
  return a * cos[ti] + sign * p * sin[ti];
}

interface FusedDims {
  B: number;
  S: number;
  dc: number;
  Hkv: number;
  D: number;
}

function check(c: Tensor, basis: Tensor, tables: RopeTables, Hkv: number): FusedDims {
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
  return { B, S, dc, Hkv, D };
}

/**
 * Reconstruct pre-RoPE keys from their compressed rows and rotate them, fused (appendix H.1).
 * c [B, S, d_c], basis V_c [Hkv·D, d_c], tables for the S held positions → keys [B, S, Hkv, D].
 */
export function reconstructRope(
  c: Tensor,
  basis: Tensor,
  tables: RopeTables,
  Hkv: number,
  style: RopeStyle = 'half',
): Tensor {
  const g = check(c, basis, tables, Hkv);
  const shape = [g.B, g.S, g.Hkv, g.D];
  if (g.B * g.S === 0) return Tensor.zeros(shape);
  const out = runKernel(
    {
      name: 'lorcReconstructRope',
      fn: reconstructRopeKernel,
      output: [g.D, g.Hkv, g.B * g.S],
      constants: {
        dc: g.dc,
        Hkv: g.Hkv,
        D: g.D,
        half: g.D / 2,
        S: g.S,
        interleaved: style === 'interleaved' ? 1 : 0,
      },
    },
    c.data,
    basis.data,
    tables.cos,
    tables.sin,
  );
  return new Tensor(out, shape);
}

/** Plain-TS reference for `reconstructRope`: reconstruct in float64, then rotate (two separate steps). */
export function reconstructRopeReference(
  c: Tensor,
  basis: Tensor,
  tables: RopeTables,
  Hkv: number,
  style: RopeStyle = 'half',
): Tensor {
  const g = check(c, basis, tables, Hkv);
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

/**
 * The CPU fast path of `reconstructRope` (the cache's 'js' engine): the reconstruction of every held
 * row is one matrix product C · V_cᵀ on the decoder's linear kernel (WebAssembly SIMD where it runs,
 * else the blocked plain-TS kernel), then one rotation pass over the rows. Same result as the
 * reference up to float32 rounding of the dot products (tested at 1e-6 relative).
 */
export function reconstructRopeJs(
  c: Tensor,
  basis: Tensor,
  tables: RopeTables,
  Hkv: number,
  style: RopeStyle = 'half',
): Tensor {
  const g = check(c, basis, tables, Hkv);
  const width = g.Hkv * g.D;
  const half = g.D / 2;
  const shape = [g.B, g.S, g.Hkv, g.D];
  if (g.B * g.S === 0) return Tensor.zeros(shape);
  // k[r, w] = Σ_q C[r, q]·V[w, q]: the basis [width, d_c] is already in the linear kernel's [out, in] layout.
  const k = linearWasm(c.reshape([g.B * g.S, g.dc]), basis, undefined, 'reconstruct keys').data;
  const cos = tables.cos;
  const sin = tables.sin;
  const inter = style === 'interleaved';
  for (let r = 0; r < g.B * g.S; r++) {
    const t = (r % g.S) * half;
    for (let h = 0; h < g.Hkv; h++) {
      const hb = r * width + h * g.D;
      for (let i = 0; i < half; i++) {
        const cs = cos[t + i];
        const sn = sin[t + i];
        const p = inter ? hb + 2 * i : hb + i;
        const pq = inter ? p + 1 : p + half;
        const a = k[p];
        const b = k[pq];
        k[p] = a * cs - b * sn;
        k[pq] = b * cs + a * sn;
      }
    }
  }
  return new Tensor(k, shape);
}
