/**
 * Matrix products of the trainer. In float32 they are the ops layer's `matmul` (so whichever backend
 * the one ops switch selects — and any faster CPU path it gains — applies); in float64 they are plain
 * loops, kept only as the reference precision for gradient checks (never the default).
 */
import { getBackend, matmul, sgemm, ShapeError, Tensor, wasmUnavailableReason } from '../ops';
import type { Precision, Vec } from './types';

export interface ProductOptions {
  transA?: boolean;
  transB?: boolean;
}

/** C = op(A)·op(B) for row-major rank-2 buffers A [ar, ac], B [br, bc] (ops `matmul` semantics). */
export function product(
  a: Vec,
  aShape: readonly [number, number],
  b: Vec,
  bShape: readonly [number, number],
  opts: ProductOptions,
  precision: Precision,
): Vec {
  const K = opts.transA ? aShape[0] : aShape[1];
  const Kb = opts.transB ? bShape[1] : bShape[0];
  if (K !== Kb || a.length !== aShape[0] * aShape[1] || b.length !== bShape[0] * bShape[1]) {
    throw new ShapeError(
      `train product: A [${aShape.join(', ')}]${opts.transA ? 'ᵀ' : ''} (${a.length} values) · B [${bShape.join(', ')}]${opts.transB ? 'ᵀ' : ''} (${b.length} values) do not fit`,
    );
  }
  if (precision === 'float32') {
    const ta = new Tensor(a instanceof Float32Array ? a : Float32Array.from(a), aShape);
    const tb = new Tensor(b instanceof Float32Array ? b : Float32Array.from(b), bShape);
    return matmul(ta, tb, opts).data;
  }
  return product64(a, aShape, b, bShape, opts);
}

/** Strides and accumulation of `productInto` (elements). */
export interface IntoOptions extends ProductOptions {
  /** Row pitch of B as stored (default: its column count) — B may be a block of a wider matrix. */
  ldb?: number;
  /** Row pitch of the output (default N) — the product may fill a block of a wider matrix. */
  ldc?: number;
  /** Add the product into the output instead of overwriting it (default false). */
  accumulate?: boolean;
}

/**
 * `product` for hot loops whose operands are known to be finite, written into `out` when given (same
 * precision; with `ldc` / `accumulate` a block of it is written or added to; B may be a block of a wider
 * matrix, `ldb`). Float32: the ops layer's GEMM entry `sgemm` when the selected backend is one it
 * implements (`native`: OpenBLAS, `wasm`: the SIMD kernels) — the same kernel `matmul` runs there, so the
 * one backend switch still decides, and the result is bit-identical — without `matmul`'s per-call scans
 * of both operands for NaN/∞ and its tensor wrappers (a third of a small training step); every other
 * backend (js, gl, reference) through `matmul`, strided operands copied. Float64: the reference loops.
 */
export function productInto(
  a: Vec,
  aShape: readonly [number, number],
  b: Vec,
  bShape: readonly [number, number],
  opts: IntoOptions,
  precision: Precision,
  out?: Vec,
): Vec {
  const transA = opts.transA === true;
  const transB = opts.transB === true;
  const M = transA ? aShape[1] : aShape[0];
  const K = transA ? aShape[0] : aShape[1];
  const N = transB ? bShape[0] : bShape[1];
  const Kb = transB ? bShape[1] : bShape[0];
  const ldb = opts.ldb ?? bShape[1];
  const ldc = opts.ldc ?? N;
  const needB = bShape[0] === 0 ? 0 : (bShape[0] - 1) * ldb + bShape[1];
  const needC = M === 0 ? 0 : (M - 1) * ldc + N;
  if (
    K !== Kb ||
    a.length !== aShape[0] * aShape[1] ||
    ldb < bShape[1] ||
    b.length < needB ||
    (opts.ldb === undefined && b.length !== bShape[0] * bShape[1]) ||
    ldc < N
  ) {
    throw new ShapeError(
      `train product: A [${aShape.join(', ')}]${transA ? 'ᵀ' : ''} (${a.length} values) · B [${bShape.join(', ')}]${transB ? 'ᵀ' : ''} (${b.length} values, row pitch ${ldb}) do not fit`,
    );
  }
  if (out && out.length < needC)
    throw new ShapeError(`train product: output buffer of ${out.length} values for ${needC}`);
  if (!out && (ldc !== N || opts.accumulate))
    throw new ShapeError('train product: a row pitch or accumulation needs an output buffer');
  const direct =
    precision === 'float32' &&
    a instanceof Float32Array &&
    b instanceof Float32Array &&
    (out === undefined || out instanceof Float32Array) &&
    K > 0 &&
    directGemm();
  if (direct) {
    const c = (out as Float32Array | undefined) ?? new Float32Array(M * N);
    return sgemm(transA, transB, M, N, K, a, b, c, { ldb, ldc, beta: opts.accumulate ? 1 : 0 });
  }
  let bc = b;
  if (ldb !== bShape[1]) {
    bc =
      precision === 'float32'
        ? new Float32Array(bShape[0] * bShape[1])
        : new Float64Array(bShape[0] * bShape[1]);
    for (let r = 0; r < bShape[0]; r++) bc.set(b.subarray(r * ldb, r * ldb + bShape[1]), r * bShape[1]);
  }
  const r = product(a, aShape, bc, bShape, opts, precision);
  if (!out) return r;
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      const o = i * ldc + j;
      out[o] = opts.accumulate ? out[o] + r[i * N + j] : r[i * N + j];
    }
  return out;
}

/** Whether the selected backend is one the ops GEMM entry `sgemm` runs on (native or wasm). */
function directGemm(): boolean {
  const be = getBackend();
  return (be === 'native' || be === 'wasm') && wasmUnavailableReason() === undefined;
}

/** Float64 reference product (loop order keeps the innermost loop contiguous). */
function product64(
  a: Vec,
  [ar, ac]: readonly [number, number],
  b: Vec,
  [br, bc]: readonly [number, number],
  { transA = false, transB = false }: ProductOptions,
): Float64Array {
  const M = transA ? ac : ar;
  const K = transA ? ar : ac;
  const N = transB ? br : bc;
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k++) {
      const av = transA ? a[k * ac + i] : a[i * ac + k];
      if (av === 0) continue;
      const o = i * N;
      if (transB) for (let j = 0; j < N; j++) out[o + j] += av * b[j * bc + k];
      else for (let j = 0, bo = k * bc; j < N; j++) out[o + j] += av * b[bo + j];
    }
  }
  return out;
}
