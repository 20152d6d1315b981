/** Cosine-similarity matrix between two row sets: a [n, d], b [m, d] → [n, m]. */
import { runKernel } from './backend';
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

/** gpu.js kernel over [m, n]: a_y · b_x / (‖a_y‖ ‖b_x‖). */
export function cosineKernel(
  this: KernelThis<{ d: number }>,
  a: number[],
  b: number[],
  na: number[],
  nb: number[],
): number {
  const i = this.thread.y;
  const j = this.thread.x;
  let dot = 0;
  for (let k = 0; k < this.constants.d; k++) dot += a[i * this.constants.d + k] * b[j * this.constants.d + k];
  return dot / (na[i] * nb[j]);
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
  const out = runKernel(
    { name: 'cosine', fn: cosineKernel, output: [m, n], constants: { d } },
    a.data,
    b.data,
    na,
    nb,
  );
  return new Tensor(out, [n, m]);
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
