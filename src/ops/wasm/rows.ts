/**
 * Drivers of the module's single-threaded row kernels for decode-sized work (gen-elementwise.ts):
 *  - `attentionRows`: attention of a few query positions over the held keys (Eq. 2.3), one `attnRows`
 *    call per (batch row, query) over the keys that query may see (causal: 0..offset + t);
 *  - `foldedAttentionRows`: the same kernel with every head reading the shared compressed values C_v
 *    (y_h = Σ_s p_s·C_v[s], d_c wide), then out = Y · W_o' as one GEMM (Eq. 5.9);
 *  - `ropeHalfRows`: rotary embedding with 'half' pairing (Eq. 2.5), in place or into new rows.
 * Operands already in the shared memory are read in place; others are staged into scratch once.
 */
import type { AttentionDims, FoldedDims } from '../plans';
import { outputBuffer } from '../buffers';
import type { Job } from './pool';
import { requireKernels, type WasmKernels } from './runtime';
import { sgemm } from './sgemm';

/** Scratch ranges of one call: stage arrays into the arena (in place when already there), free at the end. */
class Staging {
  private readonly held: { done: () => void }[] = [];
  constructor(readonly k: WasmKernels) {}

  /** Byte address of src's data in the arena (copied into scratch unless the arena owns it). */
  ptr(src: Float32Array): number {
    const { arena } = this.k;
    if (arena.owns(src)) return src.byteOffset;
    const p = this.alloc(src.length);
    new Float32Array(arena.memory.buffer, p, src.length).set(src);
    return p;
  }

  /** A fresh scratch range of n floats (byte address). */
  alloc(n: number): number {
    const s = this.k.arena.scratch(4 * n + 64);
    this.held.push(s);
    return s.ptr;
  }

  view(ptr: number, n: number): Float32Array {
    return new Float32Array(this.k.arena.memory.buffer, ptr, n);
  }

  done(): void {
    for (const h of this.held) h.done();
  }
}

/** Multiply-adds per call from which `attnRows` splits its query heads over the pool's threads. */
const SPLIT_MIN = 1 << 17;

/**
 * One `attnRows` call (arguments before the head range; see gen-elementwise.ts), its query heads split
 * over the pool's threads when the work is large enough, each part with its own score scratch.
 */
function attnRowsSplit(st: Staging, args: number[], S: number, Hq: number, work: number): void {
  const parts = work < SPLIT_MIN ? 1 : Math.min(st.k.threads, Hq);
  if (parts === 1) {
    const sc = st.alloc(S);
    st.k.ew.attnRows(...args.slice(0, 4), sc, ...args.slice(4), 0, Hq);
    return;
  }
  const per = Math.ceil(Hq / parts);
  const jobs: Job[] = [];
  for (let h0 = 0; h0 < Hq; h0 += per) {
    const sc = st.alloc(S);
    jobs.push({
      name: 'attnRows',
      args: [...args.slice(0, 4), sc, ...args.slice(4), h0, Math.min(Hq, h0 + per)],
    });
  }
  st.k.pool.run(jobs);
}

/** Attention output [B, T, Hq, D] for few queries and no key mask (see the module comment). */
export function attentionRows(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  g: AttentionDims,
): Float32Array {
  const { B, T, S, Hq, Hkv, D } = g;
  const st = new Staging(requireKernels());
  try {
    const qp = st.ptr(q.length === B * T * Hq * D ? q : q.subarray(0, B * T * Hq * D));
    const kp = st.ptr(k.subarray(0, B * S * Hkv * D));
    const vp = st.ptr(v.subarray(0, B * S * Hkv * D));
    const op = st.alloc(B * T * Hq * D);
    const row = 4 * Hkv * D;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const limit = g.causal ? g.offset + t + 1 : S;
        const qo = 4 * (b * T + t) * Hq * D;
        const args = [
          qp + qo,
          kp + b * S * row,
          vp + b * S * row,
          op + qo,
          limit,
          Hq,
          Hkv,
          D,
          row,
          row,
          4 * D,
          D,
          g.scale,
        ];
        attnRowsSplit(st, args, limit, Hq, 2 * limit * Hq * D);
      }
    }
    return st.view(op, B * T * Hq * D).slice();
  } finally {
    st.done();
  }
}

/** Folded attention [B, T, hidden] (Eq. 5.9): per query the attention rows over C_v, then Y · W_o'. */
export function foldedAttentionRows(
  q: Float32Array,
  keys: Float32Array,
  cv: Float32Array,
  folded: Float32Array,
  g: FoldedDims,
): Float32Array {
  const { B, T, S, Hq, Hkv, D, dc, hidden, offset } = g;
  const st = new Staging(requireKernels());
  try {
    const qp = st.ptr(q.subarray(0, B * T * Hq * D));
    const kp = st.ptr(keys.subarray(0, B * S * Hkv * D));
    const cp = st.ptr(cv.subarray(0, B * S * dc));
    const yp = st.alloc(B * T * Hq * dc);
    const row = 4 * Hkv * D;
    const scale = 1 / Math.sqrt(D);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const r = b * T + t;
        const S1 = offset + t + 1;
        const args = [
          qp + 4 * r * Hq * D,
          kp + b * S * row,
          cp + 4 * b * S * dc,
          yp + 4 * r * Hq * dc,
          S1,
          Hq,
          Hkv,
          D,
          row,
          4 * dc,
          0,
          dc,
          scale,
        ];
        attnRowsSplit(st, args, S1, Hq, S1 * Hq * (D + dc));
      }
    }
    const out = new Float32Array(B * T * hidden);
    sgemm(false, false, B * T, hidden, Hq * dc, st.view(yp, B * T * Hq * dc), folded, out, { kernels: st.k });
    return out;
  } finally {
    st.done();
  }
}

/**
 * RoPE with 'half' pairing (Eq. 2.5) of `rows` rows of H·D floats: row r is rotated by row r of the
 * cos/sin tables (D/2 values each). Writes into `out` (may be x itself: in place), else a new array.
 */
export function ropeHalfRows(
  x: Float32Array,
  cos: Float32Array,
  sin: Float32Array,
  rows: number,
  H: number,
  D: number,
  out?: Float32Array,
): Float32Array {
  const st = new Staging(requireKernels());
  try {
    const n = rows * H * D;
    const xp = st.ptr(x.subarray(0, n));
    const half = (rows * D) / 2;
    const cp = st.ptr(cos.subarray(0, half));
    const sp = st.ptr(sin.subarray(0, half));
    const inPlace = out !== undefined && out === x && st.k.arena.owns(x);
    const op = inPlace ? xp : st.alloc(n);
    st.k.ew.ropeHalf(xp, cp, sp, op, rows, H, D);
    if (inPlace) return x;
    const res = out ?? outputBuffer(n);
    res.set(st.view(op, n));
    return res;
  } finally {
    st.done();
  }
}
