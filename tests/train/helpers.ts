/** Small seeded datasets for the trainer tests. */
import { Rng, type Matrix64 } from '../../src/train';

export function randn(rng: Rng, rows: number, cols: number, scale = 1): Matrix64 {
  return {
    data: Float64Array.from({ length: rows * cols }, () => scale * rng.normal()),
    shape: [rows, cols],
  };
}

/** Rows of positive numbers normalised to probability vectors. */
export function softTargets(rng: Rng, rows: number, cols: number): Matrix64 {
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += data[i * cols + j] = Math.exp(1.5 * rng.normal());
    for (let j = 0; j < cols; j++) data[i * cols + j] /= s;
  }
  return { data, shape: [rows, cols] };
}

export function positiveWeights(rng: Rng, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => 0.2 + 2 * rng.next());
}

/** |a − b| ≤ rel·max(|a|, |b|) + abs, element-wise, with a message naming the first failure. */
export function assertGradClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  rel: number,
  abs: number,
  what: string,
): number {
  if (got.length !== want.length) throw new Error(`${what}: length ${got.length} vs ${want.length}`);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    const bound = rel * Math.max(Math.abs(got[i]), Math.abs(want[i])) + abs;
    if (!(err <= bound))
      throw new Error(`${what}: entry ${i}: analytic ${got[i]} vs reference ${want[i]} (|Δ| ${err})`);
    worst = Math.max(worst, err / (Math.max(Math.abs(got[i]), Math.abs(want[i])) + 1e-300));
  }
  return worst;
}
