/** Cosine-similarity matrix between two row sets: a [n, d], b [m, d] → [n, m] (Eq. 3.4's similarity). */
import { assertFinite, assertRank } from './checks';
import { NonFiniteError, ShapeError } from './errors';
import { dispatch } from './registry';
import { Tensor } from './tensor';
import type { CosinePlan } from './plans';
export type { CosinePlan } from './plans';

function check(a: Tensor, b: Tensor): CosinePlan {
  assertRank(a, 2, 'cosineSimilarity', 'a [n, d]');
  assertRank(b, 2, 'cosineSimilarity', 'b [m, d]');
  if (a.shape[1] !== b.shape[1]) {
    throw new ShapeError(
      `cosineSimilarity: row widths differ: a [${a.shape.join(', ')}], b [${b.shape.join(', ')}]`,
    );
  }
  assertFinite(a, 'cosineSimilarity', 'a');
  assertFinite(b, 'cosineSimilarity', 'b');
  return { n: a.shape[0], m: b.shape[0], d: a.shape[1] };
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
  const p = check(a, b);
  if (p.n === 0 || p.m === 0) return Tensor.zeros([p.n, p.m]);
  assertNoZeroRow(a, p.n, p.d, 'a');
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
