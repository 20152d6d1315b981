/**
 * Scaled dot-product attention with grouped K/V heads (GQA) and an optional causal mask.
 *
 * Shapes: q [B, T, Hq, D], k and v [B, S, Hkv, D] with Hq a multiple of Hkv; query head h reads K/V
 * head floor(h / (Hq/Hkv)). With `causal`, query t sits at absolute position `queryOffset + t` and
 * sees keys 0..that position (decode: S = past + T). An optional key mask [B, S] (1 keep, 0 drop)
 * handles padding.
 *
 * Layout: q is viewed as [B·Hkv, group·T, D] (the query heads sharing a K/V head stacked), so scores are
 * one batched matmul with K [B·Hkv, S, D]ᵀ and the output one batched matmul with V: the K/V heads are
 * shared without being copied per query head, and both products use matmul's register-blocked kernel.
 * Between them a masked, scaled row softmax (two small kernels).
 */
import { runKernel } from './backend';
import { assertFinite, assertRank } from './checks';
import { ShapeError } from './errors';
import type { KernelThis } from './kernel-this';
import { matmul } from './matmul';
import { Tensor } from './tensor';

export interface AttentionOptions {
  causal?: boolean;
  /** Absolute position of the first query (for causal decode with a cache). Default S − T. */
  queryOffset?: number;
  /** Key mask [B, S], 1 = attend, 0 = masked (padding). */
  keyMask?: Tensor;
  /** Score scale; default 1/sqrt(D). */
  scale?: number;
}

interface MaskConsts {
  S: number;
  T: number;
  R: number;
  Hkv: number;
  scale: number;
  causal: number;
  offset: number;
  masked: number;
}

/** Score used for masked positions: far below any real score, finite so GL handles it. */
const MASKED = -1e30;

/** gpu.js kernel over rows of [B·Hkv·group·T, S]: logsumexp of scale·scores over the allowed keys. */
export function maskedLogSumExpKernel(
  this: KernelThis<MaskConsts>,
  scores: number[],
  mask: number[],
): number {
  const row = this.thread.x;
  const z = Math.floor((row + 0.5) / this.constants.R);
  const r = row - z * this.constants.R;
  const t = r - Math.floor((r + 0.5) / this.constants.T) * this.constants.T;
  const b = Math.floor((z + 0.5) / this.constants.Hkv);
  const base = row * this.constants.S;
  let m = -1e30;
  for (let s = 0; s < this.constants.S; s++) {
    let ok = 1;
    if (this.constants.causal > 0.5 && s > this.constants.offset + t) ok = 0;
    if (this.constants.masked > 0.5 && mask[b * this.constants.S + s] < 0.5) ok = 0;
    if (ok > 0.5) m = Math.max(m, scores[base + s] * this.constants.scale);
  }
  let sum = 0;
  for (let s = 0; s < this.constants.S; s++) {
    let ok = 1;
    if (this.constants.causal > 0.5 && s > this.constants.offset + t) ok = 0;
    if (this.constants.masked > 0.5 && mask[b * this.constants.S + s] < 0.5) ok = 0;
    if (ok > 0.5) sum += Math.exp(scores[base + s] * this.constants.scale - m);
  }
  return m + Math.log(sum);
}

/** gpu.js kernel over [S, rows]: attention probability, 0 where the key is masked. */
export function maskedSoftmaxKernel(
  this: KernelThis<MaskConsts>,
  scores: number[],
  lse: number[],
  mask: number[],
): number {
  const row = this.thread.y;
  const s = this.thread.x;
  const z = Math.floor((row + 0.5) / this.constants.R);
  const r = row - z * this.constants.R;
  const t = r - Math.floor((r + 0.5) / this.constants.T) * this.constants.T;
  const b = Math.floor((z + 0.5) / this.constants.Hkv);
  if (this.constants.causal > 0.5 && s > this.constants.offset + t) return 0;
  if (this.constants.masked > 0.5 && mask[b * this.constants.S + s] < 0.5) return 0;
  return Math.exp(scores[row * this.constants.S + s] * this.constants.scale - lse[row]);
}

/** Swap axes 1 and 2 of a rank-4 tensor: [a, b, c, d] → [a, c, b, d] (host copy). */
function swap12(x: Tensor): Tensor {
  const [A, B, C, D] = x.shape;
  const out = new Float32Array(x.size);
  for (let i = 0; i < A; i++) {
    for (let j = 0; j < B; j++) {
      for (let k = 0; k < C; k++) {
        const src = ((i * B + j) * C + k) * D;
        out.set(x.data.subarray(src, src + D), ((i * C + k) * B + j) * D);
      }
    }
  }
  return new Tensor(out, [A, C, B, D]);
}

interface Dims {
  B: number;
  T: number;
  S: number;
  Hq: number;
  Hkv: number;
  D: number;
  offset: number;
  scale: number;
}

function dims(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Dims {
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
  return { B, T, S, Hq, Hkv, D, offset, scale: opts.scale ?? 1 / Math.sqrt(D) };
}

/** Attention probabilities [B, Hq, T, S] (exposed for inspection and for LoRC's analysis). */
export function attentionProbs(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const g = dims(q, k, v, opts);
  assertFinite(q, 'attention', 'q');
  assertFinite(k, 'attention', 'k');
  const group = g.Hq / g.Hkv;
  const R = group * g.T;
  // [B, T, Hq, D] → [B, Hq, T, D] = [B·Hkv, group·T, D]; keys [B, S, Hkv, D] → [B·Hkv, S, D].
  const qg = swap12(q).reshape([g.B * g.Hkv, R, g.D]);
  const kg = swap12(k).reshape([g.B * g.Hkv, g.S, g.D]);
  const scores = matmul(qg, kg, { transB: true });
  const mask = opts.keyMask?.data ?? new Float32Array(1);
  const consts: MaskConsts = {
    S: g.S,
    T: g.T,
    R,
    Hkv: g.Hkv,
    scale: g.scale,
    causal: opts.causal ? 1 : 0,
    offset: g.offset,
    masked: opts.keyMask ? 1 : 0,
  };
  const rows = g.B * g.Hkv * R;
  const lse = runKernel(
    { name: 'maskedLse', fn: maskedLogSumExpKernel, output: [rows], constants: consts },
    scores.data,
    mask,
  );
  const probs = runKernel(
    { name: 'maskedSoftmax', fn: maskedSoftmaxKernel, output: [g.S, rows], constants: consts },
    scores.data,
    lse,
    mask,
  );
  // Rows are ordered (b, kv head, head in group, t) = (b, query head, t): already [B, Hq, T, S].
  return new Tensor(probs, [g.B, g.Hq, g.T, g.S]);
}

/** Causal / masked GQA attention output [B, T, Hq, D] on the current backend. */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const g = dims(q, k, v, opts);
  assertFinite(v, 'attention', 'v');
  if (g.B * g.T * g.Hq * g.D === 0) return Tensor.zeros(q.shape);
  const p = attentionProbs(q, k, v, opts).reshape([g.B * g.Hkv, (g.Hq / g.Hkv) * g.T, g.S]);
  const vg = swap12(v).reshape([g.B * g.Hkv, g.S, g.D]);
  const out = matmul(p, vg).reshape([g.B, g.Hq, g.T, g.D]);
  return swap12(out);
}

/** Plain-TS reference for `attention` (float64, explicit loops). */
export function attentionReference(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const g = dims(q, k, v, opts);
  const out = new Float32Array(q.size);
  const group = g.Hq / g.Hkv;
  const w = new Float64Array(g.S);
  for (let b = 0; b < g.B; b++) {
    for (let t = 0; t < g.T; t++) {
      for (let h = 0; h < g.Hq; h++) {
        const kh = Math.floor(h / group);
        let max = -Infinity;
        for (let s = 0; s < g.S; s++) {
          const allowed =
            (!opts.causal || s <= g.offset + t) && (!opts.keyMask || opts.keyMask.data[b * g.S + s] >= 0.5);
          if (!allowed) {
            w[s] = -Infinity;
            continue;
          }
          let dot = 0;
          for (let d = 0; d < g.D; d++) {
            dot +=
              q.data[((b * g.T + t) * g.Hq + h) * g.D + d] * k.data[((b * g.S + s) * g.Hkv + kh) * g.D + d];
          }
          w[s] = dot * g.scale;
          max = Math.max(max, w[s]);
        }
        let z = 0;
        for (let s = 0; s < g.S; s++) {
          w[s] = Math.exp(w[s] - max);
          z += w[s];
        }
        for (let d = 0; d < g.D; d++) {
          let acc = 0;
          for (let s = 0; s < g.S; s++) acc += w[s] * v.data[((b * g.S + s) * g.Hkv + kh) * g.D + d];
          out[((b * g.T + t) * g.Hq + h) * g.D + d] = acc / z;
        }
      }
    }
  }
  return new Tensor(out, q.shape);
}

export { MASKED as ATTENTION_MASKED_SCORE };
