/**
 * Rotary position embedding (RoPE). Angles θ = position · invFreq are computed on the host in float64
 * and passed as cos/sin tables, because GL `sin`/`cos` of large arguments (long contexts) lose
 * precision on some GPUs. Two pairings are supported:
 *  - 'half' (GPT-NeoX / Hugging Face `rotate_half`): dimension i pairs with i + D/2;
 *  - 'interleaved' (GPT-J / original LLaMA / llama.cpp GGUF): dimension 2i pairs with 2i + 1.
 */
import { assertFinite, assertRank } from './checks';
import { ShapeError } from './errors';
import { dispatch } from './registry';
import { Tensor } from './tensor';
import type { RopeTables, RopePlan } from './plans';
export type { RopeTables, RopePlan } from './plans';

export type RopeStyle = 'half' | 'interleaved';

/** Inverse frequencies base^(−2i/D) for i < D/2 (the standard RoPE schedule, float64). */
export function ropeInvFreq(headDim: number, base = 10000): Float64Array {
  if (headDim % 2 !== 0) throw new ShapeError(`rope: head dimension ${headDim} must be even`);
  const half = headDim / 2;
  const out = new Float64Array(half);
  for (let i = 0; i < half; i++) out[i] = Math.pow(base, (-2 * i) / headDim);
  return out;
}

/** cos/sin tables for the given positions (float64 angles, stored as float32). */
export function ropeTables(positions: ArrayLike<number>, invFreq: ArrayLike<number>): RopeTables {
  const T = positions.length;
  const half = invFreq.length;
  const cos = new Float32Array(T * half);
  const sin = new Float32Array(T * half);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const ang = positions[t] * invFreq[i];
      cos[t * half + i] = Math.cos(ang);
      sin[t * half + i] = Math.sin(ang);
    }
  }
  return { cos, sin };
}

function check(x: Tensor, tables: RopeTables): [number, number, number] {
  assertRank(x, 3, 'rope', 'x [T, heads, headDim]');
  const [T, H, D] = x.shape;
  if (D % 2 !== 0) throw new ShapeError(`rope: head dimension ${D} must be even`);
  if (tables.cos.length !== T * (D / 2) || tables.sin.length !== T * (D / 2)) {
    throw new ShapeError(
      `rope: cos/sin tables have ${tables.cos.length}/${tables.sin.length} entries, expected ${T}·${D / 2}`,
    );
  }
  assertFinite(x, 'rope', 'x');
  return [T, H, D];
}

/** Apply RoPE (Eq. 2.5) to x [T, heads, headDim] on the selected backend. */
export function applyRope(x: Tensor, tables: RopeTables, style: RopeStyle = 'half'): Tensor {
  const [T, H, D] = check(x, tables);
  if (x.size === 0) return Tensor.zeros(x.shape);
  return dispatch('rope', x, tables, { T, H, D, interleaved: style === 'interleaved' });
}

/** Plain-TS reference for `applyRope`. */
export function applyRopeReference(x: Tensor, tables: RopeTables, style: RopeStyle = 'half'): Tensor {
  const [T, H, D] = check(x, tables);
  return applyRopeRef(x, tables, { T, H, D, interleaved: style === 'interleaved' });
}

/** Float64 reference kernel of `applyRope`. */
export function applyRopeRef(x: Tensor, tables: RopeTables, plan: RopePlan): Tensor {
  const { T, H, D } = plan;
  const style: RopeStyle = plan.interleaved ? 'interleaved' : 'half';
  const half = D / 2;
  const out = new Float32Array(x.size);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      const base = (t * H + h) * D;
      for (let i = 0; i < half; i++) {
        const c = tables.cos[t * half + i];
        const s = tables.sin[t * half + i];
        const [p, q] =
          style === 'interleaved' ? [base + 2 * i, base + 2 * i + 1] : [base + i, base + i + half];
        out[p] = x.data[p] * c - x.data[q] * s;
        out[q] = x.data[q] * c + x.data[p] * s;
      }
    }
  }
  return new Tensor(out, x.shape);
}
