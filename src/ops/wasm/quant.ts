/**
 * Linear layers with GGUF-quantized weights (Q8_0, Q4_1) read as stored, never dequantized to float32
 * memory for few rows of x (decode): each 32-weight block is widened to float32 in registers and
 * multiplied with x, as ggml's vec_dot does. For many rows (prefill) the weights are dequantized in
 * chunks of rows into scratch and multiplied with the blocked GEMM, whose cost then dominates.
 */
import { ShapeError, ValueError } from '../../errors';
import type { Job, JobName } from './pool';
import { requireKernels, type WasmKernels } from './runtime';
import { sgemm } from './sgemm';

/** Quantization types the kernels read. */
export type QuantType = 'q8_0' | 'q4_1';

/** Bytes per block of 32 weights (ggml's block_q8_0: f16 d + 32 int8; block_q4_1: f16 d, f16 m + 16 bytes). */
export const QUANT_BLOCK_BYTES: Record<QuantType, number> = { q8_0: 34, q4_1: 20 };

/**
 * A weight matrix W[rows × cols] kept as GGUF blocks: row after row, cols / 32 blocks per row (ggml's
 * layout for a tensor of dims [cols, rows]). Allocate `data` with `allocBytes` so it is read in place.
 */
export interface QuantMatrix {
  type: QuantType;
  rows: number;
  cols: number;
  data: Uint8Array;
}

/** Options of the quantized linear kernels. */
export interface QuantLinearOptions {
  /** Output buffer (rows × W.rows); a new one by default. */
  out?: Float32Array;
  threads?: number;
  kernels?: WasmKernels;
  /**
   * 'f32' (default): x stays float32, the result is the float32 product. 'i16': for fewer than 8 rows,
   * x is rounded per 32-value block to 16-bit integers (x ≈ q·s, s = max|x_block| / 32767) and the
   * blocks are multiplied in int32 (i32x4.dot_i16x8_s), ≈ 2× faster; the extra error is at most
   * Σ_blocks (s / 2) · Σ|w| per output, ≈ 1.5e-5 of the block's largest |x| per weight.
   */
  activations?: 'f32' | 'i16';
}

/** Rows of x from which the dequantize-and-GEMM path is taken. */
export const GEMM_MIN_ROWS = 8;
/** Float32 bytes dequantized per chunk on the GEMM path. */
const CHUNK_BYTES = 2 << 20;
/** Below this many weights a quantized product runs on one thread. */
const SPLIT_MIN = 1 << 15;

/** Check a QuantMatrix's dimensions against its bytes; returns bytes per row. */
export function checkQuantMatrix(w: QuantMatrix, what = 'weights'): number {
  const bb = QUANT_BLOCK_BYTES[w.type];
  if (bb === undefined) throw new ValueError(`${what}: unknown quantization type '${String(w.type)}'`);
  if (
    !Number.isInteger(w.rows) ||
    w.rows < 0 ||
    !Number.isInteger(w.cols) ||
    w.cols < 0 ||
    w.cols % 32 !== 0
  ) {
    throw new ShapeError(`${what}: ${w.rows} × ${w.cols} ${w.type} needs whole rows of 32-weight blocks`);
  }
  const rowBytes = (w.cols / 32) * bb;
  if (w.data.length < rowBytes * w.rows) {
    throw new ShapeError(
      `${what}: ${w.type} ${w.rows} × ${w.cols} needs ${rowBytes * w.rows} bytes, got ${w.data.length}`,
    );
  }
  return rowBytes;
}

/**
 * out[m, j] = Σ_k x[m, k] · W[j, k] for m < rows (x is rows × W.cols, float32; W quantized): the linear
 * layer y = x · Wᵀ with quantized weights (Eq. of a linear layer; block dequantization as ggml's
 * Q8_0 / Q4_1: w = d · q, w = d · q + m). Returns out (rows × W.rows).
 */
export function linearQuant(
  x: Float32Array,
  rows: number,
  w: QuantMatrix,
  opts: QuantLinearOptions = {},
): Float32Array {
  const rowBytes = checkQuantMatrix(w);
  const K = w.cols;
  const N = w.rows;
  if (!Number.isInteger(rows) || rows < 0)
    throw new ShapeError(`linear ${w.type}: rows = ${rows} is not a size`);
  if (x.length < rows * K) {
    throw new ShapeError(
      `linear ${w.type}: x has ${x.length} elements, ${rows} rows × ${K} need ${rows * K}`,
    );
  }
  const out = opts.out ?? new Float32Array(rows * N);
  if (out.length < rows * N)
    throw new ShapeError(`linear ${w.type}: out has ${out.length} elements, needs ${rows * N}`);
  if (opts.activations !== undefined && opts.activations !== 'f32' && opts.activations !== 'i16') {
    throw new ValueError(
      `linear ${w.type}: activations '${String(opts.activations)}' (expected 'f32' or 'i16')`,
    );
  }
  if (rows === 0 || N === 0) return out;
  if (K === 0) {
    out.fill(0, 0, rows * N);
    return out;
  }
  const k = opts.kernels ?? requireKernels();
  const threads = Math.max(1, Math.min(opts.threads ?? k.threads, k.threads));
  const { arena } = k;
  const scratches: { done: () => void }[] = [];
  // Decode-sized calls take every scratch range from one arena range (one allocation per call).
  const align = (bytes: number): number => Math.ceil((bytes + 64) / 64) * 64;
  const nb0 = K / 32;
  let bump = 0;
  let bumpEnd = 0;
  if (rows < GEMM_MIN_ROWS && arena.owns(w.data)) {
    const need = [4 * rows * K, 4 * rows * N, 2 * rows * K, 8 * rows * nb0]
      .map(align)
      .reduce((a, b) => a + b, 0);
    const s = arena.scratch(need);
    scratches.push(s);
    [bump, bumpEnd] = [s.ptr, s.ptr + need];
  }
  const grab = (bytes: number): number => {
    if (bump + align(bytes) <= bumpEnd) {
      const p = bump;
      bump += align(bytes);
      return p;
    }
    const s = arena.scratch(bytes + 64);
    scratches.push(s);
    return s.ptr;
  };
  try {
    let wPtr = w.data.byteOffset;
    if (!arena.owns(w.data)) {
      wPtr = grab(rowBytes * N);
      new Uint8Array(arena.memory.buffer).set(w.data.subarray(0, rowBytes * N), wPtr);
    }
    const xPtr = grab(4 * rows * K);
    const outPtr = grab(4 * rows * N);
    arena.f32().set(x.subarray(0, rows * K), xPtr / 4);

    if (rows < GEMM_MIN_ROWS) {
      const nb = K / 32;
      let xsPtr = 0;
      let args = (j0: number, j1: number): number[] => [
        xPtr,
        4 * K,
        rows,
        K,
        wPtr,
        j0,
        j1,
        outPtr,
        4 * N,
        xsPtr,
      ];
      let name: JobName = w.type;
      if (opts.activations === 'i16') {
        // Block scales, sums and int16 values of x in one SIMD pass (the `quantI16` row kernel).
        const x16 = grab(2 * rows * K);
        const ssPtr = grab(8 * rows * nb);
        k.ew.quantI16(xPtr, rows * nb, x16, ssPtr);
        args = (j0, j1) => [x16, 2 * K, rows, K, wPtr, j0, j1, outPtr, 4 * N, 0, ssPtr];
        name = w.type === 'q8_0' ? 'q8_0_i16' : 'q4_1_i16';
      } else if (w.type === 'q4_1') {
        // Σ x over each block: Q4_1's offset m multiplies it.
        xsPtr = grab(4 * rows * nb);
        const mem = arena.f32();
        for (let m = 0; m < rows; m++)
          for (let b = 0; b < nb; b++) {
            let s = 0;
            const o = m * K + b * 32;
            for (let i = 0; i < 32; i++) s += x[o + i];
            mem[xsPtr / 4 + m * nb + b] = s;
          }
      }
      const parts = N * K < SPLIT_MIN ? 1 : threads;
      const per = Math.ceil(N / parts);
      const jobs: Job[] = [];
      for (let j0 = 0; j0 < N; j0 += per) jobs.push({ name, args: args(j0, Math.min(N, j0 + per)) });
      k.pool.run(jobs);
    } else {
      const chunk = Math.max(4 * k.nr, Math.floor(CHUNK_BYTES / (4 * K) / k.nr) * k.nr);
      const wf = grab(4 * chunk * K);
      const deq = w.type === 'q8_0' ? 'deq8_0' : 'deq4_1';
      const mem = (): Float32Array => arena.f32();
      for (let j0 = 0; j0 < N; j0 += chunk) {
        const n = Math.min(chunk, N - j0);
        const parts = n * K < SPLIT_MIN ? 1 : threads;
        const per = Math.ceil(n / parts);
        const jobs: Job[] = [];
        // Each job writes rows j0+a .. of the chunk at wf (row r of the chunk at wf + r·K·4).
        for (let a = 0; a < n; a += per) {
          jobs.push({ name: deq, args: [wPtr + j0 * rowBytes, K, a, Math.min(n, a + per), wf] });
        }
        k.pool.run(jobs);
        const m = mem();
        sgemm(
          false,
          true,
          rows,
          n,
          K,
          m.subarray(xPtr / 4),
          m.subarray(wf / 4),
          m.subarray(outPtr / 4 + j0),
          {
            ldc: N,
            threads,
            kernels: k,
          },
        );
      }
    }
    out.set(arena.f32().subarray(outPtr / 4, outPtr / 4 + rows * N));
    return out;
  } finally {
    for (const s of scratches) s.done();
  }
}

/** y = x · Wᵀ with Q8_0 weights (see linearQuant). */
export function linearQ8_0(
  x: Float32Array,
  rows: number,
  w: QuantMatrix,
  opts?: QuantLinearOptions,
): Float32Array {
  if (w.type !== 'q8_0') throw new ValueError(`linearQ8_0: weights are ${w.type}`);
  return linearQuant(x, rows, w, opts);
}

/** y = x · Wᵀ with Q4_1 weights (see linearQuant). */
export function linearQ4_1(
  x: Float32Array,
  rows: number,
  w: QuantMatrix,
  opts?: QuantLinearOptions,
): Float32Array {
  if (w.type !== 'q4_1') throw new ValueError(`linearQ4_1: weights are ${w.type}`);
  return linearQuant(x, rows, w, opts);
}

/**
 * Dequantize rows j0 ≤ j < j1 of W to float32 ((j1 − j0) × cols, row after row) with the wasm kernels,
 * e.g. the embedding rows of a decode step's tokens from a quantized token_embd; bit-identical to
 * ggml's dequantization (w = d·q, w = d·q + m). Only the requested rows' blocks are read.
 */
export function dequantizeRows(
  w: QuantMatrix,
  j0: number,
  j1: number,
  opts: { out?: Float32Array; kernels?: WasmKernels } = {},
): Float32Array {
  const rowBytes = checkQuantMatrix(w);
  if (!Number.isInteger(j0) || !Number.isInteger(j1) || j0 < 0 || j1 < j0 || j1 > w.rows) {
    throw new ShapeError(`dequantize ${w.type}: rows ${j0}..${j1} outside 0..${w.rows}`);
  }
  const n = (j1 - j0) * w.cols;
  const out = opts.out ?? new Float32Array(n);
  if (out.length < n)
    throw new ShapeError(`dequantize ${w.type}: out has ${out.length} elements, needs ${n}`);
  if (n === 0) return out;
  const k = opts.kernels ?? requireKernels();
  const { arena } = k;
  const bytes = rowBytes * (j1 - j0);
  const sw = arena.owns(w.data) ? undefined : arena.scratch(bytes + 64);
  const so = arena.scratch(4 * n + 64);
  try {
    let src = w.data.byteOffset + j0 * rowBytes;
    if (sw) {
      new Uint8Array(arena.memory.buffer).set(w.data.subarray(j0 * rowBytes, j1 * rowBytes), sw.ptr);
      src = sw.ptr;
    }
    k.fn[w.type === 'q8_0' ? 'deq8_0' : 'deq4_1'](src, w.cols, 0, j1 - j0, so.ptr);
    out.set(arena.f32().subarray(so.ptr / 4, so.ptr / 4 + n));
    return out;
  } finally {
    sw?.done();
    so.done();
  }
}

/** Dequantize all of W to float32 (rows × cols) with the wasm kernels; for tests and callers that need f32. */
export function dequantizeQuant(w: QuantMatrix, kernels?: WasmKernels): Float32Array {
  return dequantizeRows(w, 0, w.rows, { kernels });
}

/**
 * Round x (rows × K, K % 32 = 0) per 32-value block to int16: q = round(x / s), s = max|x| / 32767
 * (float32), so |x − q·s| ≤ s / 2. Writes q and the block scales (rows × K/32).
 */
export function quantizeI16(
  x: Float32Array,
  rows: number,
  K: number,
  q: Int16Array,
  scales: Float32Array,
): void {
  const nb = K / 32;
  for (let m = 0; m < rows; m++)
    for (let b = 0; b < nb; b++) {
      const o = m * K + b * 32;
      let amax = 0;
      for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[o + i]));
      const sc = Math.fround(amax / 32767);
      scales[m * nb + b] = sc;
      const inv = sc === 0 ? 0 : 1 / sc;
      for (let i = 0; i < 32; i++) q[o + i] = Math.max(-32767, Math.min(32767, Math.round(x[o + i] * inv)));
    }
}
