/** Cosine-similarity matrix between two row sets: a [n, d], b [m, d] → [n, m] (Eq. 3.4's similarity). */
import { assertFinite, assertRank, checkFinite } from './checks';
import { NonFiniteError, ShapeError } from './errors';
import { dispatch } from './registry';
import { Tensor } from './tensor';
import type { CosinePlan } from './plans';
export type { CosinePlan } from './plans';

function checkShapes(a: Tensor, b: Tensor): CosinePlan {
  assertRank(a, 2, 'cosineSimilarity', 'a [n, d]');
  assertRank(b, 2, 'cosineSimilarity', 'b [m, d]');
  if (a.shape[1] !== b.shape[1]) {
    throw new ShapeError(
      `cosineSimilarity: row widths differ: a [${a.shape.join(', ')}], b [${b.shape.join(', ')}]`,
    );
  }
  return { n: a.shape[0], m: b.shape[0], d: a.shape[1] };
}

function check(a: Tensor, b: Tensor): CosinePlan {
  const p = checkShapes(a, b);
  assertFinite(a, 'cosineSimilarity', 'a');
  assertFinite(b, 'cosineSimilarity', 'b');
  return p;
}

/**
 * 1 / ‖x_r‖ for every row of a host tensor (float64 sums of squares, four partial sums), checking on the
 * way what `assertFinite` and the zero-row rule check: a row whose sum of squares is not finite holds a
 * NaN or an infinity (float32 values cannot overflow it in float64), and a zero sum is a zero row. One
 * pass over the large operand instead of three.
 */
function checkedInverseNorms(t: Tensor, rows: number, d: number, operand: string): Float64Array {
  const x = t.data;
  const inv = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let k = 0;
    for (; k + 3 < d; k += 4) {
      const v0 = x[o + k];
      const v1 = x[o + k + 1];
      const v2 = x[o + k + 2];
      const v3 = x[o + k + 3];
      s0 += v0 * v0;
      s1 += v1 * v1;
      s2 += v2 * v2;
      s3 += v3 * v3;
    }
    for (; k < d; k++) s0 += x[o + k] * x[o + k];
    const s = s0 + s1 + s2 + s3;
    if (!Number.isFinite(s)) checkFinite(t, 'cosineSimilarity', operand); // throws, naming the element
    if (s === 0)
      throw new NonFiniteError(`cosineSimilarity: row ${r} of ${operand} has zero norm (cosine undefined)`);
    inv[r] = 1 / Math.sqrt(s);
  }
  return inv;
}

/** Throw if some row of t is all zeros (its cosine is undefined). */
function assertNoZeroRow(t: Tensor, rows: number, d: number, operand: string): void {
  const x = t.data;
  for (let r = 0; r < rows; r++) {
    let nz = false;
    for (let k = r * d; k < (r + 1) * d; k++) {
      if (x[k] !== 0) {
        nz = true;
        break;
      }
    }
    if (!nz)
      throw new NonFiniteError(`cosineSimilarity: row ${r} of ${operand} has zero norm (cosine undefined)`);
  }
}

/** Cosine similarities [n, m] on the selected backend. Zero rows are an error, not NaN. */
export function cosineSimilarity(a: Tensor, b: Tensor): Tensor {
  const p = checkShapes(a, b);
  if (!a.onHost) assertFinite(a, 'cosineSimilarity', 'a'); // a device tensor is not scanned (see assertFinite)
  assertFinite(b, 'cosineSimilarity', 'b');
  if (p.n === 0 || p.m === 0) return Tensor.zeros([p.n, p.m]);
  if (a.onHost) p.invNormA = checkedInverseNorms(a, p.n, p.d, 'a');
  else assertNoZeroRow(a, p.n, p.d, 'a');
  assertNoZeroRow(b, p.m, p.d, 'b');
  return dispatch('cosine', a, b, p);
}

/** Float64 reference kernel of `cosineSimilarity`. */
export function cosineRef(a: Tensor, b: Tensor, p: CosinePlan): Tensor {
  const { n, m, d } = p;
  const norm = (t: Tensor, r: number): number => {
    let s = 0;
    for (let k = 0; k < d; k++) s += t.data[r * d + k] ** 2;
    return Math.sqrt(s);
  };
  const out = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    const ni = norm(a, i);
    for (let j = 0; j < m; j++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += a.data[i * d + k] * b.data[j * d + k];
      out[i * m + j] = dot / (ni * norm(b, j));
    }
  }
  return new Tensor(out, [n, m]);
}

/** Plain-TS float64 reference for `cosineSimilarity`. */
export function cosineSimilarityReference(a: Tensor, b: Tensor): Tensor {
  return cosineRef(a, b, check(a, b));
}
