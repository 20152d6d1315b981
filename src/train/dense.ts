/**
 * Matrix products of the trainer. In float32 they are the ops layer's `matmul` (so whichever backend
 * the one ops switch selects — and any faster CPU path it gains — applies); in float64 they are plain
 * loops, kept only as the reference precision for gradient checks (never the default).
 */
import { matmul, ShapeError, Tensor } from '../ops';
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
