/**
 * Scaled dot-product attention (Eq. 2.3) with grouped K/V heads (GQA) and an optional causal mask.
 *
 * Shapes: q [B, T, Hq, D], k and v [B, S, Hkv, D] with Hq a multiple of Hkv; query head h reads K/V
 * head floor(h / (Hq/Hkv)). With `causal`, query t sits at absolute position `queryOffset + t` and
 * sees keys 0..that position (decode: S = past + T). An optional key mask [B, S] (1 keep, 0 drop)
 * handles padding. Shape checks and the float64 reference live here; kernels in gl/, js/, wasm/.
 */
import { assertFinite, assertRank } from './checks';
import { ShapeError } from './errors';
import { dispatch } from './registry';
import { Tensor } from './tensor';
import type { AttentionDims } from './plans';
export type { AttentionDims } from './plans';

export interface AttentionOptions {
  causal?: boolean;
  /** Absolute position of the first query (for causal decode with a cache). Default S − T. */
  queryOffset?: number;
  /** Key mask [B, S], 1 = attend, 0 = masked (padding). */
  keyMask?: Tensor;
  /** Score scale; default 1/sqrt(D). */
  scale?: number;
  /**
   * The keys and values were checked finite when they were stored (a KV cache checks each entry once,
   * at append), so they are not rescanned here (that scan is O(S) per decode step); q still is.
   */
  keysValuesChecked?: boolean;
}

/** Score used for masked positions by kernels that cannot carry -Infinity (GL): finite, far below any score. */
export const ATTENTION_MASKED_SCORE = -1e30;

/** Check q/k/v shapes, the causal range and the key mask (ShapeError naming every operand). */
export function attentionDims(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): AttentionDims {
  assertRank(q, 4, 'attention', 'q [B, T, Hq, D]');
  assertRank(k, 4, 'attention', 'k [B, S, Hkv, D]');
  assertRank(v, 4, 'attention', 'v [B, S, Hkv, D]');
  const [B, T, Hq, D] = q.shape;
  const [Bk, S, Hkv, Dk] = k.shape;
  const shapes = `q [${q.shape.join(', ')}], k [${k.shape.join(', ')}], v [${v.shape.join(', ')}]`;
  if (Bk !== B || Dk !== D || v.shape.join() !== k.shape.join()) {
    throw new ShapeError(`attention: incompatible shapes ${shapes}`);
  }
  if (Hkv === 0 || Hq % Hkv !== 0) {
    throw new ShapeError(`attention: ${Hq} query heads are not a multiple of ${Hkv} K/V heads (${shapes})`);
  }
  const offset = opts.queryOffset ?? S - T;
  if (opts.causal && (offset < 0 || offset + T > S)) {
    throw new ShapeError(
      `attention: causal queries at positions ${offset}..${offset + T - 1} need keys beyond S = ${S}`,
    );
  }
  if (opts.keyMask) {
    const m = opts.keyMask;
    if (m.rank !== 2 || m.shape[0] !== B || m.shape[1] !== S) {
      throw new ShapeError(`attention: keyMask has shape [${m.shape.join(', ')}], expected [${B}, ${S}]`);
    }
    for (let b = 0; b < B; b++) {
      let any = false;
      for (let s = 0; s < S; s++) if (m.data[b * S + s] >= 0.5) any = true;
      if (!any) throw new ShapeError(`attention: keyMask masks every key of batch row ${b}`);
    }
  }
  return {
    B,
    T,
    S,
    Hq,
    Hkv,
    D,
    offset,
    scale: opts.scale ?? 1 / Math.sqrt(D),
    causal: opts.causal === true,
    mask: opts.keyMask?.data,
  };
}

/** Attention probabilities [B, Hq, T, S] (exposed for inspection and for LoRC's analysis). */
export function attentionProbs(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const g = attentionDims(q, k, v, opts);
  assertFinite(q, 'attention', 'q');
  assertFinite(k, 'attention', 'k');
  if (g.B * g.T * g.Hq * g.S === 0) return Tensor.zeros([g.B, g.Hq, g.T, g.S]);
  return dispatch('attentionProbs', q, k, g);
}

/** Causal / masked GQA attention output [B, T, Hq, D] on the selected backend (Eq. 2.3). */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const g = attentionDims(q, k, v, opts);
  assertFinite(q, 'attention', 'q');
  if (!opts.keysValuesChecked) {
    assertFinite(k, 'attention', 'k');
    assertFinite(v, 'attention', 'v');
  }
  if (g.B * g.T * g.Hq * g.D === 0) return Tensor.zeros(q.shape);
  return dispatch('attention', q, k, v, g);
}

/** Whether key s is visible to query t of batch row b. */
export function keyVisible(g: AttentionDims, b: number, t: number, s: number): boolean {
  return (!g.causal || s <= g.offset + t) && (!g.mask || g.mask[b * g.S + s] >= 0.5);
}

/** Float64 softmax weights of one (b, t, h) row into w[0..S) (0 for hidden keys). */
function refWeights(
  q: Tensor,
  k: Tensor,
  g: AttentionDims,
  b: number,
  t: number,
  h: number,
  w: Float64Array,
): void {
  const kh = Math.floor(h / (g.Hq / g.Hkv));
  let max = -Infinity;
  for (let s = 0; s < g.S; s++) {
    if (!keyVisible(g, b, t, s)) {
      w[s] = -Infinity;
      continue;
    }
    let dot = 0;
    for (let d = 0; d < g.D; d++) {
      dot += q.data[((b * g.T + t) * g.Hq + h) * g.D + d] * k.data[((b * g.S + s) * g.Hkv + kh) * g.D + d];
    }
    w[s] = dot * g.scale;
    max = Math.max(max, w[s]);
  }
  let z = 0;
  for (let s = 0; s < g.S; s++) {
    w[s] = Math.exp(w[s] - max);
    z += w[s];
  }
  for (let s = 0; s < g.S; s++) w[s] /= z;
}

/** Float64 reference kernel of `attentionProbs`. */
export function attentionProbsRef(q: Tensor, k: Tensor, g: AttentionDims): Tensor {
  const out = new Float32Array(g.B * g.Hq * g.T * g.S);
  const w = new Float64Array(g.S);
  for (let b = 0; b < g.B; b++)
    for (let h = 0; h < g.Hq; h++)
      for (let t = 0; t < g.T; t++) {
        refWeights(q, k, g, b, t, h, w);
        out.set(w, ((b * g.Hq + h) * g.T + t) * g.S);
      }
  return new Tensor(out, [g.B, g.Hq, g.T, g.S]);
}

/** Float64 reference kernel of `attention` (explicit loops). */
export function attentionRef(q: Tensor, k: Tensor, v: Tensor, g: AttentionDims): Tensor {
  const out = new Float32Array(q.size);
  const group = g.Hq / g.Hkv;
  const w = new Float64Array(g.S);
  for (let b = 0; b < g.B; b++) {
    for (let t = 0; t < g.T; t++) {
      for (let h = 0; h < g.Hq; h++) {
        const kh = Math.floor(h / group);
        refWeights(q, k, g, b, t, h, w);
        for (let d = 0; d < g.D; d++) {
          let acc = 0;
          for (let s = 0; s < g.S; s++) acc += w[s] * v.data[((b * g.S + s) * g.Hkv + kh) * g.D + d];
          out[((b * g.T + t) * g.Hq + h) * g.D + d] = acc;
        }
      }
    }
  }
  return new Tensor(out, q.shape);
}

/** Plain-TS float64 reference for `attention`. */
export function attentionReference(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  return attentionRef(q, k, v, attentionDims(q, k, v, opts));
}
