/** gpu.js fused reconstruct + RoPE read kernel of the low-rank key cache (appendix H.1), flat output. */
import type { FusedDims } from '../lowrank';
import type { RopeTables } from '../rope';
import type { Tensor } from '../tensor';
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
