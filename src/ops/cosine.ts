/**
 * Cosine-similarity matrix between two row sets: a [n, d], b [m, d] → [n, m].
 * Row norms (kernel), row normalisation (broadcast divide) and one matmul with the transposed layout.
 */
import { runKernel } from './backend';
import { binary } from './elementwise';
import { matmul } from './matmul';
import { assertFinite, assertRank } from './checks';
import { NonFiniteError, ShapeError } from './errors';
import type { KernelThis } from './kernel-this';
import { Tensor } from './tensor';

/** gpu.js kernel: L2 norm of row `thread.x`. */
export function rowNormKernel(this: KernelThis<{ cols: number }>, x: number[]): number {
  const base = this.thread.x * this.constants.cols;
  let s = 0;
  for (let j = 0; j < this.constants.cols; j++) s += x[base + j] * x[base + j];
  return Math.sqrt(s);
}

function check(a: Tensor, b: Tensor): [number, number, number] {
  assertRank(a, 2, 'cosineSimilarity', 'a [n, d]');
  assertRank(b, 2, 'cosineSimilarity', 'b [m, d]');
  if (a.shape[1] !== b.shape[1]) {
    throw new ShapeError(
      `cosineSimilarity: row widths differ: a [${a.shape.join(', ')}], b [${b.shape.join(', ')}]`,
    );
  }
  assertFinite(a, 'cosineSimilarity', 'a');
  assertFinite(b, 'cosineSimilarity', 'b');
  return [a.shape[0], b.shape[0], a.shape[1]];
}

function assertNonZero(norms: Float32Array, operand: string): void {
  const i = norms.indexOf(0);
  if (i >= 0)
    throw new NonFiniteError(`cosineSimilarity: row ${i} of ${operand} has zero norm (cosine undefined)`);
}

/** Cosine similarities [n, m] on the current backend. Zero rows are an error, not NaN. */
export function cosineSimilarity(a: Tensor, b: Tensor): Tensor {
  const [n, m, d] = check(a, b);
  if (n === 0 || m === 0) return Tensor.zeros([n, m]);
  const na = runKernel({ name: 'rowNorm', fn: rowNormKernel, output: [n], constants: { cols: d } }, a.data);
  const nb = runKernel({ name: 'rowNorm', fn: rowNormKernel, output: [m], constants: { cols: d } }, b.data);
  assertNonZero(na, 'a');
  assertNonZero(nb, 'b');
  // Normalise the rows, then one matmul against the normalised b (transposed layout).
  const an = binary('div', a, new Tensor(na, [n, 1]));
  const bn = binary('div', b, new Tensor(nb, [m, 1]));
  return matmul(an, bn, { transB: true });
}

/** Plain-TS reference for `cosineSimilarity`. */
export function cosineSimilarityReference(a: Tensor, b: Tensor): Tensor {
  const [n, m, d] = check(a, b);
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
