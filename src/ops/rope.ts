/**
 * Rotary position embedding (RoPE). Angles θ = position · invFreq are computed on the host in float64
 * and passed as cos/sin tables, because GL `sin`/`cos` of large arguments (long contexts) lose
 * precision on some GPUs. Two pairings are supported:
 *  - 'half' (GPT-NeoX / Hugging Face `rotate_half`): dimension i pairs with i + D/2;
 *  - 'interleaved' (GPT-J / original LLaMA / llama.cpp GGUF): dimension 2i pairs with 2i + 1.
 */
import { runKernel } from './backend';
import { assertFinite, assertRank } from './checks';
import { ShapeError } from './errors';
import type { KernelThis } from './kernel-this';
import { Tensor } from './tensor';

export type RopeStyle = 'half' | 'interleaved';

export interface RopeTables {
  /** cos θ, shape [T, D/2]. */
  cos: Float32Array;
  /** sin θ, shape [T, D/2]. */
  sin: Float32Array;
}

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

/** gpu.js kernel over output [D, H, T]: rotate pair partners with the row's cos/sin. */
export function ropeKernel(
  this: KernelThis<{ H: number; D: number; half: number; interleaved: number }>,
  x: number[],
  cos: number[],
  sin: number[],
): number {
  const d = this.thread.x;
  const h = this.thread.y;
  const t = this.thread.z;
  const base = (t * this.constants.H + h) * this.constants.D;
  if (this.constants.interleaved === 1) {
    const i = Math.floor((d + 0.5) / 2);
    const even = d - 2 * i;
    const c = cos[t * this.constants.half + i];
    const s = sin[t * this.constants.half + i];
    if (even < 0.5) return x[base + d] * c - x[base + d + 1] * s;
    return x[base + d] * c + x[base + d - 1] * s;
  }
  if (d < this.constants.half) {
    const c = cos[t * this.constants.half + d];
    const s = sin[t * this.constants.half + d];
    return x[base + d] * c - x[base + d + this.constants.half] * s;
  }
  const j = d - this.constants.half;
  return x[base + d] * cos[t * this.constants.half + j] + x[base + j] * sin[t * this.constants.half + j];
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

/** Apply RoPE to x [T, heads, headDim] on the current backend. */
export function applyRope(x: Tensor, tables: RopeTables, style: RopeStyle = 'half'): Tensor {
  const [T, H, D] = check(x, tables);
  if (x.size === 0) return Tensor.zeros(x.shape);
  const out = runKernel(
    {
      name: 'rope',
      fn: ropeKernel,
      output: [D, H, T],
      constants: { H, D, half: D / 2, interleaved: style === 'interleaved' ? 1 : 0 },
    },
    x.data,
    tables.cos,
    tables.sin,
  );
  return new Tensor(out, x.shape);
}

/** Plain-TS reference for `applyRope` (angles recomputed from the tables). */
export function applyRopeReference(x: Tensor, tables: RopeTables, style: RopeStyle = 'half'): Tensor {
  const [T, H, D] = check(x, tables);
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
