/** Row-major [rows, cols] numeric views shared by the PTLoss functions (an ops `Tensor` fits). */
import { ShapeError, ValueError } from '../../errors';

export interface Matrix {
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
}

/** A float64 matrix produced by this module. */
export interface Matrix64 extends Matrix {
  readonly data: Float64Array;
  readonly shape: readonly [number, number];
}

/** Wrap a flat buffer as a [rows, cols] matrix. */
export function matrix64(data: Float64Array, rows: number, cols: number): Matrix64 {
  if (data.length !== rows * cols) {
    throw new ShapeError(`matrix64: ${data.length} values do not fill [${rows}, ${cols}]`);
  }
  return { data, shape: [rows, cols] };
}

/** Build a float64 matrix from nested rows. */
export function fromRows(rows: readonly (readonly number[])[]): Matrix64 {
  const r = rows.length;
  const c = r === 0 ? 0 : rows[0].length;
  const data = new Float64Array(r * c);
  rows.forEach((row, i) => {
    if (row.length !== c) throw new ShapeError(`fromRows: row ${i} has ${row.length} columns, expected ${c}`);
    row.forEach((v, j) => (data[i * c + j] = v));
  });
  return { data, shape: [r, c] };
}

/** Nested rows of a matrix. */
export function toRows(m: Matrix): number[][] {
  const [r, c] = dims(m, 'toRows', 'matrix');
  const out: number[][] = [];
  for (let i = 0; i < r; i++) out.push(Array.from({ length: c }, (_, j) => m.data[i * c + j]));
  return out;
}

/** [rows, cols] of a rank-2 matrix, with a clear error otherwise. */
export function dims(m: Matrix, fn: string, name: string): [number, number] {
  if (m.shape.length !== 2) {
    throw new ShapeError(
      `${fn}: ${name} must be rank 2 [examples, classes], got shape [${m.shape.join(', ')}]`,
    );
  }
  const [r, c] = m.shape;
  if (m.data.length !== r * c) {
    throw new ShapeError(`${fn}: ${name} has ${m.data.length} values but shape [${r}, ${c}]`);
  }
  return [r, c];
}

/**
 * Check that each row of `p` is a probability vector (entries in [0, 1], rows summing to 1 within
 * `tol`, which allows float32 teachers). Throws naming the first bad row.
 */
export function assertDistributions(p: Matrix, fn: string, name: string, tol = 1e-4): [number, number] {
  const [r, c] = dims(p, fn, name);
  for (let i = 0; i < r; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) {
      const v = p.data[i * c + j];
      if (!(v >= 0 && v <= 1)) {
        throw new ValueError(`${fn}: ${name}[${i}][${j}] = ${v} is not a probability in [0, 1]`);
      }
      s += v;
    }
    if (Math.abs(s - 1) > tol) {
      throw new ValueError(`${fn}: row ${i} of ${name} sums to ${s}, not 1 (tolerance ${tol})`);
    }
  }
  return [r, c];
}

/** Row-wise softmax of logits into a fresh float64 matrix (max-shifted). */
export function softmaxRows(z: Matrix): Matrix64 {
  const [r, c] = dims(z, 'softmaxRows', 'logits');
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    let mx = -Infinity;
    for (let j = 0; j < c; j++) mx = Math.max(mx, z.data[i * c + j]);
    let s = 0;
    for (let j = 0; j < c; j++) {
      const e = Math.exp(z.data[i * c + j] - mx);
      out[i * c + j] = e;
      s += e;
    }
    for (let j = 0; j < c; j++) out[i * c + j] /= s;
  }
  return { data: out, shape: [r, c] };
}
