/**
 * Elementwise maps: binary ops with numpy-style broadcasting (up to rank 4) and unary ops.
 * Index arithmetic in the kernels uses `floor((i + 0.5) / d)` so float division on GL cannot round
 * a whole quotient down (exact for flat indices below 2^23).
 */
import { assertFinite, assertNoNaN } from './checks';
import { NonFiniteError, ShapeError } from './errors';
import { dispatch } from './registry';
import { Tensor, shapeSize, type Shape } from './tensor';
import type { BinaryOp, UnaryOp, BroadcastPlan } from './plans';
export type { BinaryOp, UnaryOp, BroadcastPlan } from './plans';

export const BINARY_CODES: Record<BinaryOp, number> = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  maximum: 4,
  minimum: 5,
  pow: 6,
};
export const UNARY_CODES: Record<UnaryOp, number> = {
  exp: 0,
  log: 1,
  sqrt: 2,
  abs: 3,
  neg: 4,
  relu: 5,
  sigmoid: 6,
  tanh: 7,
  square: 8,
  reciprocal: 9,
};

/** Broadcast two shapes numpy-style; throws a ShapeError naming both when they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape, op = 'broadcast'): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `${op}: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast (axis ${i})`,
      );
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

function broadcastStrides(shape: Shape, out: Shape): number[] {
  const strides: number[] = new Array<number>(out.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const o = out.length - shape.length + i;
    strides[o] = shape[i] === 1 ? 0 : s;
    s *= shape[i];
  }
  return strides;
}

function pad4(shape: Shape, strides: number[]): { dims: number[]; strides: number[] } {
  if (shape.length > 4) throw new ShapeError(`elementwise ops support rank ≤ 4, got [${shape.join(', ')}]`);
  const pad = 4 - shape.length;
  return {
    dims: [...new Array<number>(pad).fill(1), ...shape],
    strides: [...new Array<number>(pad).fill(0), ...strides],
  };
}

function checkBinaryDomain(op: BinaryOp, a: Tensor, b: Tensor): void {
  assertFinite(a, op, 'a');
  assertFinite(b, op, 'b');
  if (op === 'div') {
    const i = b.data.indexOf(0);
    if (i >= 0) throw new NonFiniteError(`div: divisor [${b.shape.join(', ')}] is zero at flat index ${i}`);
  }
}

/** Check that a and b broadcast (ShapeError naming both) and lay out the strides. */
export function broadcastPlan(a: Tensor, b: Tensor, op = 'broadcast'): BroadcastPlan {
  const shape = broadcastShapes(a.shape, b.shape, op);
  const pa = pad4(shape, broadcastStrides(a.shape, shape));
  const pb = pad4(shape, broadcastStrides(b.shape, shape));
  const same = a.shape.join() === shape.join() && b.shape.join() === shape.join();
  return { shape, n: shapeSize(shape), dims: pa.dims, aStrides: pa.strides, bStrides: pb.strides, same };
}

/** a ∘ b with broadcasting (rank ≤ 4), on the selected backend. */
export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const p = broadcastPlan(a, b, op);
  checkBinaryDomain(op, a, b);
  if (p.n === 0) return Tensor.zeros(p.shape);
  const res = dispatch('binary', op, a, b, p);
  if (op === 'pow') assertNoNaN(res, 'pow', 'result (negative base with a fractional exponent?)');
  return res;
}

function checkUnaryDomain(op: UnaryOp, x: Tensor): void {
  assertFinite(x, op, 'x');
  const d = x.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if ((op === 'log' && v <= 0) || (op === 'sqrt' && v < 0) || (op === 'reciprocal' && v === 0)) {
      throw new NonFiniteError(
        `${op}: input [${x.shape.join(', ')}] has ${v} at flat index ${i}, outside the domain`,
      );
    }
  }
}

/** f(x) elementwise on the selected backend. */
export function unary(op: UnaryOp, x: Tensor): Tensor {
  checkUnaryDomain(op, x);
  if (x.size === 0) return Tensor.zeros(x.shape);
  return dispatch('unary', op, x);
}

export const add = (a: Tensor, b: Tensor): Tensor => binary('add', a, b);
export const sub = (a: Tensor, b: Tensor): Tensor => binary('sub', a, b);
export const mul = (a: Tensor, b: Tensor): Tensor => binary('mul', a, b);
export const div = (a: Tensor, b: Tensor): Tensor => binary('div', a, b);

export const BINARY_REF: Record<BinaryOp, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  maximum: Math.max,
  minimum: Math.min,
  pow: Math.pow,
};

export const UNARY_REF: Record<UnaryOp, (v: number) => number> = {
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  neg: (v) => -v,
  relu: (v) => Math.max(v, 0),
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  tanh: Math.tanh,
  square: (v) => v * v,
  reciprocal: (v) => 1 / v,
};

/** Float64 reference kernel of `binary` (odometer over the padded rank-4 index). */
export function binaryRef(op: BinaryOp, a: Tensor, b: Tensor, p: BroadcastPlan): Tensor {
  const res = new Float32Array(p.n);
  const idx = [0, 0, 0, 0];
  const f = BINARY_REF[op];
  const A = a.data;
  const B = b.data;
  for (let i = 0; i < p.n; i++) {
    let oa = 0;
    let ob = 0;
    for (let d = 0; d < 4; d++) {
      oa += idx[d] * p.aStrides[d];
      ob += idx[d] * p.bStrides[d];
    }
    res[i] = f(A[oa], B[ob]);
    for (let d = 3; d >= 0; d--) {
      if (++idx[d] < p.dims[d]) break;
      idx[d] = 0;
    }
  }
  return new Tensor(res, p.shape);
}

/** Plain-TS reference for `binary` (float64 arithmetic, same broadcasting). */
export function binaryReference(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  return binaryRef(op, a, b, broadcastPlan(a, b, op));
}

/** Plain-TS reference for `unary` (also its reference kernel). */
export function unaryReference(op: UnaryOp, x: Tensor): Tensor {
  const f = UNARY_REF[op];
  return new Tensor(
    x.data.map((v) => f(v)),
    x.shape,
  );
}
