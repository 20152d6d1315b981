/**
 * Dense linear algebra that is not a per-cell map, wrapped from ml-matrix (a maintained, tested
 * library) rather than written here: SVD, condition number, linear solves, least squares.
 * Computation is float64; results come back as float32 tensors plus float64 singular values.
 */
import { Matrix, SingularValueDecomposition, solve as mlSolve } from 'ml-matrix';
import { assertFinite, assertRank } from './checks';
import { NonFiniteError, ShapeError } from './errors';
import { Tensor } from './tensor';

function toMatrix(t: Tensor, op: string, operand: string): Matrix {
  assertRank(t, 2, op, operand);
  assertFinite(t, op, operand);
  const [r, c] = t.shape;
  const m = new Matrix(r, c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) m.set(i, j, t.data[i * c + j]);
  return m;
}

function fromMatrix(m: Matrix): Tensor {
  const out = new Float32Array(m.rows * m.columns);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.columns; j++) out[i * m.columns + j] = m.get(i, j);
  return new Tensor(out, [m.rows, m.columns]);
}

export interface Svd {
  /** Left singular vectors [m, r], r = min(m, n). */
  U: Tensor;
  /** Singular values, descending, float64. */
  S: Float64Array;
  /** Right singular vectors [n, r] (A = U diag(S) Vᵀ). */
  V: Tensor;
}

/** Thin SVD A = U diag(S) Vᵀ (ml-matrix's Golub–Kahan implementation). */
export function svd(a: Tensor): Svd {
  const m = toMatrix(a, 'svd', 'A');
  const transposed = m.rows < m.columns;
  // ml-matrix's one-sided algorithm is meant for rows ≥ columns; decompose Aᵀ otherwise and swap.
  const dec = new SingularValueDecomposition(transposed ? m.transpose() : m, { autoTranspose: false });
  const r = Math.min(m.rows, m.columns);
  const S = Float64Array.from(dec.diagonal.slice(0, r));
  let U = dec.leftSingularVectors.subMatrix(0, dec.leftSingularVectors.rows - 1, 0, r - 1);
  let V = dec.rightSingularVectors.subMatrix(0, dec.rightSingularVectors.rows - 1, 0, r - 1);
  if (transposed) [U, V] = [V, U];
  return { U: fromMatrix(U), S, V: fromMatrix(V) };
}

/** Singular values only, descending (float64). */
export function singularValues(a: Tensor): Float64Array {
  return svd(a).S;
}

/** 2-norm condition number σ_max / σ_min (Infinity for a rank-deficient matrix). Eq. 5.10. */
export function conditionNumber(a: Tensor): number {
  const s = singularValues(a);
  const smin = s[s.length - 1];
  return smin === 0 ? Infinity : s[0] / smin;
}

/** Solve A x = b for square, non-singular A (b [n] or [n, k]). */
export function solve(a: Tensor, b: Tensor): Tensor {
  const A = toMatrix(a, 'solve', 'A');
  if (A.rows !== A.columns) throw new ShapeError(`solve: A must be square, got [${a.shape.join(', ')}]`);
  const bm = b.rank === 1 ? toMatrix(b.reshape([b.size, 1]), 'solve', 'b') : toMatrix(b, 'solve', 'b');
  if (bm.rows !== A.rows) throw new ShapeError(`solve: b has ${bm.rows} rows, A has ${A.rows}`);
  const cond = conditionNumber(a);
  if (!Number.isFinite(cond) || cond > 1e15) {
    throw new NonFiniteError(
      `solve: A [${a.shape.join(', ')}] is singular or nearly so (condition number ${cond.toExponential(2)})`,
    );
  }
  const x = fromMatrix(mlSolve(A, bm));
  return b.rank === 1 ? x.reshape([x.size]) : x;
}

/** Least-squares solution of min ‖A x − b‖ (via SVD pseudo-inverse). */
export function lstsq(a: Tensor, b: Tensor): Tensor {
  const A = toMatrix(a, 'lstsq', 'A');
  const bm = b.rank === 1 ? toMatrix(b.reshape([b.size, 1]), 'lstsq', 'b') : toMatrix(b, 'lstsq', 'b');
  if (bm.rows !== A.rows) throw new ShapeError(`lstsq: b has ${bm.rows} rows, A has ${A.rows}`);
  const x = fromMatrix(mlSolve(A, bm, true));
  return b.rank === 1 ? x.reshape([x.size]) : x;
}

/** Best rank-k approximation U_k diag(S_k) V_kᵀ (Eckart–Young; used by LoRC, Eq. 5.5). */
export function lowRankApprox(a: Tensor, k: number): Tensor {
  const { U, S, V } = svd(a);
  if (!Number.isInteger(k) || k < 0 || k > S.length)
    throw new ShapeError(`lowRankApprox: rank ${k} outside 0..${S.length}`);
  const [m, n] = a.shape;
  const r = S.length;
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) s += U.data[i * r + l] * S[l] * V.data[j * r + l];
      out[i * n + j] = s;
    }
  }
  return new Tensor(out, [m, n]);
}
