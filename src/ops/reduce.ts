/** Reductions along one axis: sum, mean, variance, max, min. */
import { assertFinite, normaliseAxis } from './checks';
import { ShapeError } from './errors';
import { dispatch } from './registry';
import { Tensor } from './tensor';
import type { Reduction, ReducePlan } from './plans';
export type { Reduction, ReducePlan } from './plans';

export interface ReduceOptions {
  /** Keep the reduced axis with size 1. */
  keepDims?: boolean;
  /** Delta degrees of freedom for variance (0 = population, 1 = sample). */
  ddof?: number;
}

function plan(x: Tensor, axis: number, op: Reduction, opts: ReduceOptions): ReducePlan {
  if (x.rank === 0) throw new ShapeError(`${op}: cannot reduce a scalar`);
  const a = normaliseAxis(axis, x.rank, op);
  const L = x.shape[a];
  const ddof = opts.ddof ?? 0;
  if (L === 0 && op !== 'sum')
    throw new ShapeError(`${op}: axis ${axis} of [${x.shape.join(', ')}] is empty`);
  if (op === 'variance' && L - ddof <= 0) {
    throw new ShapeError(`variance: axis of length ${L} with ddof ${ddof} leaves no degrees of freedom`);
  }
  const outer = x.shape.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = x.shape.slice(a + 1).reduce((p, d) => p * d, 1);
  const shape = opts.keepDims ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a);
  return { outer, L, inner, ddof, shape };
}

/** Reduce along `axis` on the selected backend. */
export function reduce(op: Reduction, x: Tensor, axis = -1, opts: ReduceOptions = {}): Tensor {
  const p = plan(x, axis, op, opts);
  assertFinite(x, op, 'x');
  if (p.outer * p.inner === 0 || p.L === 0) return Tensor.zeros(p.shape);
  return dispatch('reduce', op, x, p);
}

export const sum = (x: Tensor, axis = -1, opts: ReduceOptions = {}): Tensor => reduce('sum', x, axis, opts);
export const mean = (x: Tensor, axis = -1, opts: ReduceOptions = {}): Tensor => reduce('mean', x, axis, opts);
export const variance = (x: Tensor, axis = -1, opts: ReduceOptions = {}): Tensor =>
  reduce('variance', x, axis, opts);
export const max = (x: Tensor, axis = -1, opts: ReduceOptions = {}): Tensor => reduce('max', x, axis, opts);
export const min = (x: Tensor, axis = -1, opts: ReduceOptions = {}): Tensor => reduce('min', x, axis, opts);

/** Plain-TS reference for `reduce` (float64). */
export function reduceReference(op: Reduction, x: Tensor, axis = -1, opts: ReduceOptions = {}): Tensor {
  return reduceRef(op, x, plan(x, axis, op, opts));
}

/** Float64 reference kernel of `reduce`. */
export function reduceRef(op: Reduction, x: Tensor, p: ReducePlan): Tensor {
  const out = new Float32Array(p.outer * p.inner);
  for (let o = 0; o < p.outer; o++) {
    for (let j = 0; j < p.inner; j++) {
      const vals: number[] = [];
      for (let i = 0; i < p.L; i++) vals.push(x.data[(o * p.L + i) * p.inner + j]);
      const s = vals.reduce((a, b) => a + b, 0);
      const m = s / p.L;
      out[o * p.inner + j] =
        op === 'sum'
          ? s
          : op === 'mean'
            ? m
            : op === 'max'
              ? Math.max(...vals)
              : op === 'min'
                ? Math.min(...vals)
                : vals.reduce((a, v) => a + (v - m) ** 2, 0) / (p.L - p.ddof);
    }
  }
  return new Tensor(out, p.shape);
}
