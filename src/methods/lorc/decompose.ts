/**
 * Per-layer low-rank factorisation of a K or V projection (thesis §5.4.1, Eqs. 5.5-5.8).
 *
 * Layout: the thesis writes K = X·W with W ∈ R^{D × h·d} (D = model width, h = K/V heads, d = head
 * dimension). For grouped-query attention all h_kv heads are decomposed jointly (Eq. 5.6): one SVD of
 * the whole D × h_kv·d matrix, W = U Σ Vᵀ. Keeping the first d_c singular triplets gives
 * W̃ = U_c Σ_c V_cᵀ. Because V has orthonormal columns, the compressed cache entry of a token x is
 *   c = x·U_c·Σ_c = (x·W)·V_c,
 * i.e. it can be computed from the full key (or value) row the decoder already produced, and the
 * reconstruction is k̃ = c·V_cᵀ = x·W̃. So a cache only needs V_c (h·d × d_c) per projection.
 */
import { Tensor, svd, ShapeError } from '../../ops';

/** A thin SVD of one projection in thesis layout, kept in float64 singular values. */
export interface ProjectionDecomposition {
  /** Name used in error messages (e.g. `blk.3.attn_k`). */
  name: string;
  /** Input width D. */
  rows: number;
  /** Output width h·d (the full cache width of this projection). */
  cols: number;
  /** Singular values, descending. */
  S: Float64Array;
  /** Right singular vectors [cols, r], r = min(rows, cols). */
  V: Tensor;
  /** Left singular vectors [rows, r]. */
  U: Tensor;
}

/** SVD of W ∈ R^{D × h·d} (thesis layout, K = X·W), jointly over all heads. Eq. 5.6. */
export function decomposeProjection(w: Tensor, name = 'W'): ProjectionDecomposition {
  if (w.rank !== 2)
    throw new ShapeError(`decomposeProjection(${name}): expected a matrix, got [${w.shape.join(', ')}]`);
  const [rows, cols] = w.shape;
  if (rows === 0 || cols === 0)
    throw new ShapeError(`decomposeProjection(${name}): empty matrix [${rows}, ${cols}]`);
  const { U, S, V } = svd(w);
  return { name, rows, cols, S, V, U };
}

/** Transpose a weight stored output-major ([h·d, D], as in GGUF / PyTorch Linear) into thesis layout. */
export function thesisLayout(wOutIn: Tensor): Tensor {
  if (wOutIn.rank !== 2)
    throw new ShapeError(`thesisLayout: expected a matrix, got [${wOutIn.shape.join(', ')}]`);
  return wOutIn.transpose();
}

function checkRank(dec: ProjectionDecomposition, k: number, what: string): void {
  if (!Number.isInteger(k) || k < 0 || k > dec.S.length) {
    throw new ShapeError(`${what}(${dec.name}): rank ${k} outside 0..${dec.S.length}`);
  }
}

/** The first k right singular vectors as a [cols, k] basis (the cache's down/up projection). Eq. 5.6. */
export function rightBasis(dec: ProjectionDecomposition, k: number): Tensor {
  checkRank(dec, k, 'rightBasis');
  const r = dec.S.length;
  const out = new Float32Array(dec.cols * k);
  for (let i = 0; i < dec.cols; i++) for (let j = 0; j < k; j++) out[i * k + j] = dec.V.data[i * r + j];
  return new Tensor(out, [dec.cols, k]);
}

/** Rank-k reconstruction W̃ = U_k Σ_k V_kᵀ [rows, cols] (float64 accumulation). Eq. 5.5. */
export function reconstruct(dec: ProjectionDecomposition, k: number): Tensor {
  checkRank(dec, k, 'reconstruct');
  const r = dec.S.length;
  const out = new Float32Array(dec.rows * dec.cols);
  for (let i = 0; i < dec.rows; i++) {
    for (let j = 0; j < dec.cols; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) s += dec.U.data[i * r + l] * dec.S[l] * dec.V.data[j * r + l];
      out[i * dec.cols + j] = s;
    }
  }
  return new Tensor(out, [dec.rows, dec.cols]);
}

/**
 * Relative reconstruction error ‖W − W̃_k‖_F / ‖W‖_F from the spectrum (Eckart–Young: the discarded
 * energy is Σ_{i>k} σ_i²). Appendix G.1.
 */
export function relativeReconstructionError(dec: ProjectionDecomposition, k: number): number {
  checkRank(dec, k, 'relativeReconstructionError');
  let tail = 0;
  let total = 0;
  for (let i = 0; i < dec.S.length; i++) {
    const s2 = dec.S[i] * dec.S[i];
    total += s2;
    if (i >= k) tail += s2;
  }
  return total === 0 ? 0 : Math.sqrt(tail / total);
}

/** σ_{k+1}, the Theorem 2 bound factor: ‖Wx − W̃x‖ ≤ σ_{k+1}‖x‖ (0 when k ≥ rank). Eq. 5.14. */
export function theorem2Factor(dec: ProjectionDecomposition, k: number): number {
  checkRank(dec, k, 'theorem2Factor');
  return k < dec.S.length ? dec.S[k] : 0;
}

/** κ(W) = σ_max / σ_min from a decomposition (Infinity when rank-deficient). Eq. 5.10. */
export function kappaOf(dec: ProjectionDecomposition): number {
  const smin = dec.S[dec.S.length - 1];
  return smin === 0 ? Infinity : dec.S[0] / smin;
}
