/**
 * The fused read kernel of the low-rank key cache (thesis appendix H.1, Eq. 5.6): keys held as d_c-dim
 * projections taken BEFORE rotary embedding are reconstructed and rotated in one pass. The op lives in
 * the ops index (shape checks, float64 reference, and the gl / wasm / js kernels behind the one backend
 * switch); LoRC re-exports it here under its chapter's namespace.
 */
import { Tensor, reconstructRope, withBackend, type RopeStyle, type RopeTables } from '../../ops';

export { reconstructRope, reconstructRopeReference } from '../../ops';

/** @deprecated Use `reconstructRope` (it runs on the selected backend); this runs it on `js`. */
export function reconstructRopeJs(
  c: Tensor,
  basis: Tensor,
  tables: RopeTables,
  Hkv: number,
  style: RopeStyle = 'half',
): Tensor {
  return withBackend('js', () => reconstructRope(c, basis, tables, Hkv, style));
}
