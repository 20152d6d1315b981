/**
 * gpu.js attention in four flat kernels that read q/k/v in their [B, T|S, H, D] layout (no host
 * transposes, so a resident q/k/v never leaves the GPU): scores[b,h,t,s] (masked scores are
 * ATTENTION_MASKED_SCORE), a per-row logsumexp, probabilities, and out[b,t,h,d] = Σ_s p·v.
 */
import { ATTENTION_MASKED_SCORE, type AttentionDims } from '../attention';
import type { Tensor } from '../tensor';
import type { KernelThis } from './kernel-this';
import { runResidentOrHost } from './resident';

interface AttConsts {
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
  maskedScore: number;
}

/** gpu.js kernel: scaled score of flat cell ((b·Hq + h)·T + t)·S + s, or the masked score. */
export function attScoreKernel(
  this: KernelThis<AttConsts>,
  q: number[],
  k: number[],
  mask: number[],
): number {
  const o = this.thread.x;
  const row = Math.floor((o + 0.5) / this.constants.S);
  const s = o - row * this.constants.S;
  const bh = Math.floor((row + 0.5) / this.constants.T);
  const t = row - bh * this.constants.T;
  const b = Math.floor((bh + 0.5) / this.constants.Hq);
  const h = bh - b * this.constants.Hq;
  const kh = Math.floor((h + 0.5) / this.constants.group);
  let ok = 1;
  if (this.constants.causal > 0.5 && s > this.constants.offset + t) ok = 0;
  if (this.constants.masked > 0.5 && mask[b * this.constants.S + s] < 0.5) ok = 0;
  if (ok < 0.5) return this.constants.maskedScore;
  const qb = ((b * this.constants.T + t) * this.constants.Hq + h) * this.constants.D;
  const kb = ((b * this.constants.S + s) * this.constants.Hkv + kh) * this.constants.D;
  let dot = 0;
  for (let d = 0; d < this.constants.D; d++) dot += q[qb + d] * k[kb + d];
  return dot * this.constants.scale;
}

/** gpu.js kernel: logsumexp of score row `thread.x` over its visible keys. */
export function attLseKernel(this: KernelThis<AttConsts>, scores: number[]): number {
  const base = this.thread.x * this.constants.S;
  let m = this.constants.maskedScore;
  for (let s = 0; s < this.constants.S; s++) m = Math.max(m, scores[base + s]);
  let sum = 0;
  for (let s = 0; s < this.constants.S; s++) {
    const v = scores[base + s];
    if (v > this.constants.maskedScore * 0.5) sum += Math.exp(v - m);
  }
  return m + Math.log(sum);
}

/** gpu.js kernel: probability of flat cell o (0 for hidden keys). */
export function attProbKernel(this: KernelThis<AttConsts>, scores: number[], lse: number[]): number {
  const o = this.thread.x;
  const row = Math.floor((o + 0.5) / this.constants.S);
  const v = scores[o];
  if (v < this.constants.maskedScore * 0.5) return 0;
  return Math.exp(v - lse[row]);
}

/** gpu.js kernel: out[b,t,h,d] = Σ_s p[b,h,t,s]·v[b,s,kh,d] over a flat [B·T·Hq·D] output. */
export function attOutKernel(this: KernelThis<AttConsts>, p: number[], v: number[]): number {
  const o = this.thread.x;
  const bth = Math.floor((o + 0.5) / this.constants.D);
  const d = o - bth * this.constants.D;
  const bt = Math.floor((bth + 0.5) / this.constants.Hq);
  const h = bth - bt * this.constants.Hq;
  const b = Math.floor((bt + 0.5) / this.constants.T);
  const t = bt - b * this.constants.T;
  const kh = Math.floor((h + 0.5) / this.constants.group);
  const pb = ((b * this.constants.Hq + h) * this.constants.T + t) * this.constants.S;
  let acc = 0;
  for (let s = 0; s < this.constants.S; s++) {
    acc += p[pb + s] * v[((b * this.constants.S + s) * this.constants.Hkv + kh) * this.constants.D + d];
  }
  return acc;
}

function consts(g: AttentionDims): AttConsts {
  return {
    T: g.T,
    S: g.S,
    Hq: g.Hq,
    Hkv: g.Hkv,
    D: g.D,
    group: g.Hq / g.Hkv,
    scale: g.scale,
    causal: g.causal ? 1 : 0,
    offset: g.offset,
    masked: g.mask ? 1 : 0,
    maskedScore: ATTENTION_MASKED_SCORE,
  };
}

/** `attentionProbs` on GL: [B, Hq, T, S]. */
export function attentionProbsGl(q: Tensor, k: Tensor, g: AttentionDims): Tensor {
  const c = consts(g);
  const rows = g.B * g.Hq * g.T;
  const mask = g.mask ?? new Float32Array(1);
  const scores = runResidentOrHost(
    { name: 'attScore', fn: attScoreKernel, output: [rows * g.S], constants: c },
    [rows * g.S],
    q,
    k,
    mask,
  );
  const lse = runResidentOrHost(
    { name: 'attLse', fn: attLseKernel, output: [rows], constants: c },
    [rows],
    scores,
  );
  return runResidentOrHost(
    { name: 'attProb', fn: attProbKernel, output: [rows * g.S], constants: c },
    [g.B, g.Hq, g.T, g.S],
    scores,
    lse,
  );
}

/** `attention` on GL: [B, T, Hq, D]. */
export function attentionGl(q: Tensor, k: Tensor, v: Tensor, g: AttentionDims): Tensor {
  const p = attentionProbsGl(q, k, g);
  return runResidentOrHost(
    { name: 'attOut', fn: attOutKernel, output: [g.B * g.T * g.Hq * g.D], constants: consts(g) },
    q.shape,
    p,
    v,
  );
}
