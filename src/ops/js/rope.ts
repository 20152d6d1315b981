/** Plain-TS rotary embedding: one contiguous pass per (position, head) row. */
import type { RopePlan, RopeTables } from '../rope';
import { Tensor } from '../tensor';

/** `applyRope` kernel of the js backend. */
export function ropeJs(x: Tensor, tables: RopeTables, p: RopePlan): Tensor {
  const { T, H, D } = p;
  const half = D / 2;
  const d = x.data;
  const cos = tables.cos;
  const sin = tables.sin;
  const out = new Float32Array(d.length);
  for (let t = 0; t < T; t++) {
    const tb = t * half;
    for (let h = 0; h < H; h++) {
      const base = (t * H + h) * D;
      for (let i = 0; i < half; i++) {
        const c = cos[tb + i];
        const s = sin[tb + i];
        const a = p.interleaved ? base + 2 * i : base + i;
        const b = p.interleaved ? a + 1 : a + half;
        const xa = d[a];
        const xb = d[b];
        out[a] = xa * c - xb * s;
        out[b] = xb * c + xa * s;
      }
    }
  }
  return new Tensor(out, x.shape);
}
