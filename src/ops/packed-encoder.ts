/**
 * A post-LayerNorm transformer encoder stack (BERT / MiniLM) over a packed batch, with every activation
 * resident in the wasm arena from the first layer to the last: no copy in or out per op, no new
 * Float32Array per op. Per layer (Eqs. 2.1-2.4, the encoder block):
 *   qkv = x · W_qkvᵀ + b_qkv                       one GEMM on the stacked [3H, H] weight
 *   a_b = softmax(q_b k_bᵀ / √d) v_b  per text b    two GEMMs batched over the heads, strided into qkv
 *   x   = LN(x + a · W_oᵀ + b_o)                   the residual is C's prior value (beta = 1)
 *   x   = LN(x + GELU(x · W_iᵀ + b_i) · W_o2ᵀ + b_o2)
 * Texts are packed without padding (rows offsets[b] .. offsets[b+1] − 1 are text b), so attention
 * sees only its own text's keys: the same result as a padded batch with a key mask.
 * GEMMs run on `sgemm` (OpenBLAS on the native backend, the SIMD GEMM on wasm); GELU and LayerNorm run
 * the module's SIMD row kernels, split over the pool's threads when the rows are many.
 * Only for the `wasm` and `native` backends: `residentEncoderAvailable()` says whether it may run now.
 */
import { NonFiniteError, ShapeError } from '../errors';
import { getBackend } from './registry';
import { requireKernels, wasmKernels, type WasmKernels } from './wasm/runtime';
import { sgemm } from './wasm/sgemm';
import type { Job } from './wasm/pool';

/** One encoder layer's weights; the 2-D ones are best allocated in the arena (`allocF32`), else copied there once. */
export interface EncoderLayerWeights {
  /** [3H, H]: the query, key and value projections stacked row-wise. */
  wqkv: Float32Array;
  /** [3H] */
  bqkv: Float32Array;
  /** [H, H] */
  wo: Float32Array;
  bo: Float32Array;
  ln1g: Float32Array;
  ln1b: Float32Array;
  /** [I, H] */
  wi: Float32Array;
  bi: Float32Array;
  /** [H, I] */
  wo2: Float32Array;
  bo2: Float32Array;
  ln2g: Float32Array;
  ln2b: Float32Array;
}

export interface EncoderDims {
  hidden: number;
  heads: number;
  intermediate: number;
  eps: number;
}

/** Elements from which a row kernel (GELU, LayerNorm) is split over the pool's threads. */
const SPLIT_MIN = 1 << 15;

/** Whether `packedEncoderLayers` runs on the selected backend here (wasm or native, with the wasm kernels). */
export function residentEncoderAvailable(): boolean {
  const b = getBackend();
  return (b === 'wasm' || b === 'native') && wasmKernels() !== undefined;
}

/** Arena copies of small vectors / weights not allocated there (kept for the source array's lifetime). */
const copies = new WeakMap<Float32Array, Float32Array>();

function resident(k: WasmKernels, x: Float32Array): Float32Array {
  if (k.arena.owns(x)) return x;
  let c = copies.get(x);
  if (!c) {
    c = k.arena.allocF32(x.length);
    c.set(x);
    copies.set(x, c);
  }
  return c;
}

/** Fill rows [0, rows) of `dst` (width = bias.length) with `bias`, or with src + bias when src is given. */
function fillRows(dst: Float32Array, rows: number, bias: Float32Array, src?: Float32Array): void {
  const w = bias.length;
  if (!src) {
    for (let r = 0; r < rows; r++) dst.set(bias, r * w);
    return;
  }
  dst.set(src.subarray(0, rows * w));
  for (let r = 0; r < rows; r++) {
    const o = r * w;
    for (let j = 0; j < w; j++) dst[o + j] += bias[j];
  }
}

/** GELU (erf, Eq. 2.4's activation) of n floats at byte address p, in place, split over the pool's threads. */
function geluInPlace(k: WasmKernels, p: number, n: number): void {
  const parts = n < SPLIT_MIN ? 1 : k.threads;
  if (parts === 1) {
    k.ew.gelu(p, p, n);
    return;
  }
  const per = Math.ceil(n / parts / 16) * 16;
  const jobs: Job[] = [];
  for (let i = 0; i < n; i += per) {
    const m = Math.min(per, n - i);
    jobs.push({ name: 'gelu', args: [p + 4 * i, p + 4 * i, m] });
  }
  k.pool.run(jobs);
}

/** LayerNorm of `rows` rows of `cols` floats at byte address x into out (Eq. 2.2's LN), rows split over threads. */
function layerNormRows(
  k: WasmKernels,
  x: number,
  g: number,
  b: number,
  out: number,
  rows: number,
  cols: number,
  eps: number,
): void {
  const parts = rows * cols < SPLIT_MIN || rows < 2 ? 1 : Math.min(k.threads, rows);
  if (parts === 1) {
    k.ew.layernorm(x, g, b, out, rows, cols, eps);
    return;
  }
  const per = Math.ceil(rows / parts);
  const jobs: Job[] = [];
  for (let r = 0; r < rows; r += per) {
    const m = Math.min(per, rows - r);
    const o = 4 * r * cols;
    jobs.push({ name: 'layernorm', args: [x + o, g, b, out + o, m, cols, eps] });
  }
  k.pool.run(jobs);
}

/**
 * Run the encoder layers over a packed batch. `x` [N, H] is the embedding output (after its LayerNorm);
 * `offsets` (length B + 1, offsets[0] = 0, offsets[B] = N) delimit the texts. Returns the last hidden
 * states [N, H] (a fresh array outside the arena). Throws NonFiniteError when the result is not finite.
 */
export function packedEncoderLayers(
  x: Float32Array,
  offsets: readonly number[],
  layers: readonly EncoderLayerWeights[],
  d: EncoderDims,
): Float32Array {
  const { hidden: H, heads: nh, intermediate: I, eps } = d;
  const D = H / nh;
  const B = offsets.length - 1;
  const N = offsets[B];
  if (!Number.isInteger(D) || D < 1)
    throw new ShapeError(`packedEncoderLayers: hidden ${H} is not heads ${nh} × d`);
  if (B < 1 || offsets[0] !== 0 || x.length !== N * H) {
    throw new ShapeError(`packedEncoderLayers: x has ${x.length} floats, offsets imply ${N} × ${H}`);
  }
  let maxLen = 0;
  for (let b = 0; b < B; b++) {
    const n = offsets[b + 1] - offsets[b];
    if (!Number.isInteger(n) || n < 1) throw new ShapeError(`packedEncoderLayers: text ${b} has ${n} rows`);
    maxLen = Math.max(maxLen, n);
  }
  const k = requireKernels();
  const { arena } = k;
  const sizes = { x: N * H, qkv: N * 3 * H, a: N * H, t: N * H, f: N * I, sc: nh * maxLen * maxLen };
  const held = Object.values(sizes).map((n) => arena.scratch(4 * n + 64));
  try {
    const mem = arena.memory.buffer;
    const [X, QKV, A, T, F, SC] = Object.values(sizes).map((n, i) => new Float32Array(mem, held[i].ptr, n));
    X.set(x);
    const scale = 1 / Math.sqrt(D);
    for (const l0 of layers) {
      const l = {
        wqkv: resident(k, l0.wqkv),
        wo: resident(k, l0.wo),
        wi: resident(k, l0.wi),
        wo2: resident(k, l0.wo2),
        ln1g: resident(k, l0.ln1g).byteOffset,
        ln1b: resident(k, l0.ln1b).byteOffset,
        ln2g: resident(k, l0.ln2g).byteOffset,
        ln2b: resident(k, l0.ln2b).byteOffset,
      };
      // qkv = x · W_qkvᵀ + b_qkv
      fillRows(QKV, N, l0.bqkv);
      sgemm(false, true, N, 3 * H, H, X, l.wqkv, QKV, { beta: 1 });
      // Attention per text, batched over the heads: head h of q/k/v is columns h·D .. of its third of qkv.
      for (let b = 0; b < B; b++) {
        const o = offsets[b];
        const n = offsets[b + 1] - o;
        const q = QKV.subarray(o * 3 * H);
        sgemm(false, true, n, n, D, q, QKV.subarray(o * 3 * H + H), SC, {
          alpha: scale,
          batch: nh,
          lda: 3 * H,
          ldb: 3 * H,
          strideA: D,
          strideB: D,
          strideC: n * n,
        });
        for (let r = 0; r < nh * n; r++) k.ew.softmaxRow(SC.byteOffset + 4 * r * n, n);
        sgemm(false, false, n, D, n, SC, QKV.subarray(o * 3 * H + 2 * H), A.subarray(o * H), {
          batch: nh,
          ldb: 3 * H,
          ldc: H,
          strideA: n * n,
          strideB: D,
          strideC: D,
        });
      }
      // x = LN(x + a · W_oᵀ + b_o)
      fillRows(T, N, l0.bo, X);
      sgemm(false, true, N, H, H, A, l.wo, T, { beta: 1 });
      layerNormRows(k, T.byteOffset, l.ln1g, l.ln1b, X.byteOffset, N, H, eps);
      // x = LN(x + GELU(x · W_iᵀ + b_i) · W_o2ᵀ + b_o2)
      fillRows(F, N, l0.bi);
      sgemm(false, true, N, I, H, X, l.wi, F, { beta: 1 });
      geluInPlace(k, F.byteOffset, N * I);
      fillRows(T, N, l0.bo2, X);
      sgemm(false, true, N, H, I, F, l.wo2, T, { beta: 1 });
      layerNormRows(k, T.byteOffset, l.ln2g, l.ln2b, X.byteOffset, N, H, eps);
    }
    const out = X.slice();
    for (let i = 0; i < out.length; i++) {
      if (!Number.isFinite(out[i])) {
        throw new NonFiniteError(
          `packedEncoderLayers: hidden state ${out[i]} at row ${Math.floor(i / H)}, column ${i % H}`,
        );
      }
    }
    return out;
  } finally {
    for (const h of held) h.done();
  }
}
