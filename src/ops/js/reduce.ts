/** Plain-TS reductions: accumulate whole inner rows at a time so every read is contiguous. */
import type { ReducePlan, Reduction } from '../reduce';
import { Tensor } from '../tensor';

/** `reduce` kernel of the js backend (float64 accumulators; two-pass variance). */
export function reduceJs(op: Reduction, x: Tensor, p: ReducePlan): Tensor {
  const { outer, L, inner } = p;
  const d = x.data;
  const out = new Float32Array(outer * inner);
  const acc = new Float64Array(inner);
  const mean = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * L * inner;
    if (op === 'max' || op === 'min') {
      for (let j = 0; j < inner; j++) acc[j] = d[base + j];
      for (let i = 1; i < L; i++) {
        const r = base + i * inner;
        if (op === 'max') for (let j = 0; j < inner; j++) acc[j] = d[r + j] > acc[j] ? d[r + j] : acc[j];
        else for (let j = 0; j < inner; j++) acc[j] = d[r + j] < acc[j] ? d[r + j] : acc[j];
      }
    } else {
      acc.fill(0);
      for (let i = 0; i < L; i++) {
        const r = base + i * inner;
        for (let j = 0; j < inner; j++) acc[j] += d[r + j];
      }
      if (op !== 'sum') for (let j = 0; j < inner; j++) acc[j] /= L;
      if (op === 'variance') {
        mean.set(acc);
        acc.fill(0);
        for (let i = 0; i < L; i++) {
          const r = base + i * inner;
          for (let j = 0; j < inner; j++) {
            const c = d[r + j] - mean[j];
            acc[j] += c * c;
          }
        }
        for (let j = 0; j < inner; j++) acc[j] /= L - p.ddof;
      }
    }
    for (let j = 0; j < inner; j++) out[o * inner + j] = acc[j];
  }
  return new Tensor(out, p.shape);
}
