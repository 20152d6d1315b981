/**
 * Scaled dot-product attention with grouped K/V heads (GQA) and an optional causal mask.
 *
 * Shapes: q [B, T, Hq, D], k and v [B, S, Hkv, D] with Hq a multiple of Hkv; query head h reads K/V
 * head floor(h / (Hq/Hkv)). With `causal`, query t sits at absolute position `queryOffset + t` and
 * sees keys 0..that position (decode: S = past + T). An optional key mask [B, S] (1 keep, 0 drop)
 * handles padding. Three kernels: scores, row softmax (shared with `softmax`), weighted sum of values.
 */
import { runKernel } from './backend';
import { assertFinite, assertRank } from './checks';
import { ShapeError } from './errors';
import type { KernelThis } from './kernel-this';
import { rowLogSumExpKernel, rowSoftmaxKernel } from './softmax';
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

interface ScoreConsts {
  T: number;
  S: number;
  Hq: number;
  Hkv: number;
  D: number;
  group: number;
  scale: number;
  causal: number;
  offset: number;
  masked: number;
}

/** Score used for masked positions: far below any real score, finite so GL handles it. */
const MASKED = -1e30;

/** gpu.js kernel over [S, T, B·Hq]: scaled q·k with causal and key masks. */
export function attentionScoresKernel(
  this: KernelThis<ScoreConsts>,
  q: number[],
  k: number[],
  keyMask: number[],
): number {
  const s = this.thread.x;
  const t = this.thread.y;
  const z = this.thread.z;
  const b = Math.floor((z + 0.5) / this.constants.Hq);
  const h = z - b * this.constants.Hq;
  const kh = Math.floor((h + 0.5) / this.constants.group);
  if (this.constants.causal === 1 && s > this.constants.offset + t) return -1e30;
  if (this.constants.masked === 1 && keyMask[b * this.constants.S + s] < 0.5) return -1e30;
  const qBase = ((b * this.constants.T + t) * this.constants.Hq + h) * this.constants.D;
  const kBase = ((b * this.constants.S + s) * this.constants.Hkv + kh) * this.constants.D;
  let dot = 0;
  for (let d = 0; d < this.constants.D; d++) dot += q[qBase + d] * k[kBase + d];
  return dot * this.constants.scale;
}

/** gpu.js kernel over [D, Hq, B·T]: Σ_s p[b,h,t,s] · v[b,s,kh,d]. */
export function attentionValuesKernel(
  this: KernelThis<{ T: number; S: number; Hq: number; Hkv: number; D: number; group: number }>,
  p: number[],
  v: number[],
): number {
  const d = this.thread.x;
  const h = this.thread.y;
  const z = this.thread.z;
  const b = Math.floor((z + 0.5) / this.constants.T);
  const t = z - b * this.constants.T;
  const kh = Math.floor((h + 0.5) / this.constants.group);
  const pBase = ((b * this.constants.Hq + h) * this.constants.T + t) * this.constants.S;
  let acc = 0;
  for (let s = 0; s < this.constants.S; s++)
    acc += p[pBase + s] * v[((b * this.constants.S + s) * this.constants.Hkv + kh) * this.constants.D + d];
  return acc;
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
  const mask = opts.keyMask?.data ?? new Float32Array(1);
  const scores = runKernel(
    {
      name: 'attentionScores',
      fn: attentionScoresKernel,
      output: [g.S, g.T, g.B * g.Hq],
      constants: {
        T: g.T,
        S: g.S,
        Hq: g.Hq,
        Hkv: g.Hkv,
        D: g.D,
        group: g.Hq / g.Hkv,
        scale: g.scale,
        causal: opts.causal ? 1 : 0,
        offset: g.offset,
        masked: opts.keyMask ? 1 : 0,
      },
    },
    q.data,
    k.data,
    mask,
  );
  const rows = g.B * g.Hq * g.T;
  const lse = runKernel(
    { name: 'rowLogSumExp', fn: rowLogSumExpKernel, output: [rows], constants: { cols: g.S } },
    scores,
  );
  const probs = runKernel(
    { name: 'rowSoftmax', fn: rowSoftmaxKernel, output: [g.S, rows], constants: { cols: g.S, mode: 0 } },
    scores,
    lse,
  );
  return new Tensor(probs, [g.B, g.Hq, g.T, g.S]);
}

/** Causal / masked GQA attention output [B, T, Hq, D] on the current backend. */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const g = dims(q, k, v, opts);
  assertFinite(v, 'attention', 'v');
  if (g.B * g.T * g.Hq * g.D === 0) return Tensor.zeros(q.shape);
  const p = attentionProbs(q, k, v, opts);
  const out = runKernel(
    {
      name: 'attentionValues',
      fn: attentionValuesKernel,
      output: [g.D, g.Hq, g.B * g.T],
      constants: { T: g.T, S: g.S, Hq: g.Hq, Hkv: g.Hkv, D: g.D, group: g.Hq / g.Hkv },
    },
    p.data,
    v.data,
  );
  return new Tensor(out, [g.B, g.T, g.Hq, g.D]);
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
