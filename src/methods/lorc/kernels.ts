/**
 * The fused read of the low-rank key cache (thesis appendix H.1, Eq. 5.6): keys held as d_c-dim
 * projections taken BEFORE rotary embedding are reconstructed and rotated when attention reads them.
 * The fused op (`reconstructRope`: shape checks, float64 reference, gl and js kernels, dispatched by the
 * ops registry) lives in src/ops/lowrank.ts and is re-exported here; `reconstructRopeJs` is the cache's
 * CPU path on the decoder's linear kernel.
 */
import { ShapeError, Tensor, type RopeStyle, type RopeTables } from '../../ops';

export { reconstructRope, reconstructRopeReference } from '../../ops';
import { linearWasm } from '../../models';

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
