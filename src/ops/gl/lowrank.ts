/** gpu.js fused low-rank kernels: reconstruct + RoPE (appendix H.1, Eq. 5.6) and folded attention (Eq. 5.9), flat outputs. */
import type { AttentionDims } from '../attention';
import type { FoldedDims, FusedDims } from '../lowrank';
import type { RopeTables } from '../rope';
import type { Tensor } from '../tensor';
import { attentionProbsGl } from './attention';
import type { KernelThis } from './kernel-this';
import { runResidentOrHost } from './resident';

interface FusedConsts {
  dc: number;
  Hkv: number;
  D: number;
  half: number;
  S: number;
  interleaved: number;
}

/** gpu.js kernel over flat [B·S·Hkv·D]: reconstruct a key element and its RoPE partner, rotate. */
export function reconstructRopeKernel(
  this: KernelThis<FusedConsts>,
  c: number[],
  basis: number[],
  cos: number[],
  sin: number[],
): number {
  const o = this.thread.x;
  const zh = Math.floor((o + 0.5) / this.constants.D);
  const j = o - zh * this.constants.D;
  const z = Math.floor((zh + 0.5) / this.constants.Hkv);
  const h = zh - z * this.constants.Hkv;
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

/** `reconstructRope` on GL. */
export function reconstructRopeGl(c: Tensor, basis: Tensor, tables: RopeTables, g: FusedDims): Tensor {
  return runResidentOrHost(
    {
      name: 'lorcReconstructRope',
      fn: reconstructRopeKernel,
      output: [g.B * g.S * g.Hkv * g.D],
      constants: { dc: g.dc, Hkv: g.Hkv, D: g.D, half: g.D / 2, S: g.S, interleaved: g.interleaved ? 1 : 0 },
    },
    [g.B, g.S, g.Hkv, g.D],
    c,
    basis,
    tables.cos,
    tables.sin,
  );
}

interface FoldConsts {
  T: number;
  S: number;
  Hq: number;
  dc: number;
  hidden: number;
}

/** gpu.js kernel: y[b,h,t,c] = Σ_s p[b,h,t,s]·C_v[b,s,c] (the d_c-wide folded value, Eq. 5.9). */
export function foldValueKernel(this: KernelThis<FoldConsts>, p: number[], cv: number[]): number {
  const o = this.thread.x;
  const row = Math.floor((o + 0.5) / this.constants.dc);
  const c = o - row * this.constants.dc;
  const bh = Math.floor((row + 0.5) / this.constants.T);
  const b = Math.floor((bh + 0.5) / this.constants.Hq);
  let acc = 0;
  for (let s = 0; s < this.constants.S; s++) {
    acc += p[row * this.constants.S + s] * cv[(b * this.constants.S + s) * this.constants.dc + c];
  }
  return acc;
}

/** gpu.js kernel: out[b,t,j] = Σ_h Σ_c y[b,h,t,c]·W_o'[h·d_c + c, j]. */
export function foldOutKernel(this: KernelThis<FoldConsts>, y: number[], folded: number[]): number {
  const o = this.thread.x;
  const bt = Math.floor((o + 0.5) / this.constants.hidden);
  const j = o - bt * this.constants.hidden;
  const b = Math.floor((bt + 0.5) / this.constants.T);
  const t = bt - b * this.constants.T;
  let acc = 0;
  for (let h = 0; h < this.constants.Hq; h++) {
    const yb = ((b * this.constants.Hq + h) * this.constants.T + t) * this.constants.dc;
    for (let c = 0; c < this.constants.dc; c++) {
      acc += y[yb + c] * folded[(h * this.constants.dc + c) * this.constants.hidden + j];
    }
  }
  return acc;
}

/**
 * `foldedAttention` on GL: the causal attention probabilities of gl/attention.ts (keys past
 * offset + t hidden), the folded values y (d_c wide), then the folded output projection.
 */
export function foldedAttentionGl(
  q: Tensor,
  keys: Tensor,
  cv: Tensor,
  folded: Tensor,
  g: FoldedDims,
): Tensor {
  const dims: AttentionDims = {
    B: g.B,
    T: g.T,
    S: g.S,
    Hq: g.Hq,
    Hkv: g.Hkv,
    D: g.D,
    offset: g.offset,
    scale: 1 / Math.sqrt(g.D),
    causal: true,
    mask: undefined,
  };
  const p = attentionProbsGl(q, keys, dims);
  const c: FoldConsts = { T: g.T, S: g.S, Hq: g.Hq, dc: g.dc, hidden: g.hidden };
  const rows = g.B * g.Hq * g.T;
  const y = runResidentOrHost(
    { name: 'foldValue', fn: foldValueKernel, output: [rows * g.dc], constants: c },
    [rows * g.dc],
    p,
    cv,
  );
  return runResidentOrHost(
    { name: 'foldOut', fn: foldOutKernel, output: [g.B * g.T * g.hidden], constants: c },
    [g.B, g.T, g.hidden],
    y,
    folded,
  );
}
