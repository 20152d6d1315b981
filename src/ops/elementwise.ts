/**
 * Elementwise maps: binary ops with numpy-style broadcasting (up to rank 4) and unary ops.
 * Index arithmetic in the kernels uses `floor((i + 0.5) / d)` so float division on GL cannot round
 * a whole quotient down (exact for flat indices below 2^23).
 */
import { runKernel } from './backend';
import { assertFinite, assertNoNaN } from './checks';
import { NonFiniteError, ShapeError } from './errors';
import type { KernelThis } from './kernel-this';
import { Tensor, shapeSize, type Shape } from './tensor';

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'pow';
export type UnaryOp =
  'exp' | 'log' | 'sqrt' | 'abs' | 'neg' | 'relu' | 'sigmoid' | 'tanh' | 'square' | 'reciprocal';

const BINARY_CODES: Record<BinaryOp, number> = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  maximum: 4,
  minimum: 5,
  pow: 6,
};
const UNARY_CODES: Record<UnaryOp, number> = {
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

interface BroadcastConsts {
  op: number;
  d1: number;
  d2: number;
  d3: number;
  a0: number;
  a1: number;
  a2: number;
  a3: number;
  b0: number;
  b1: number;
  b2: number;
  b3: number;
}

/** gpu.js kernel: out[i] = a[idxA(i)] ∘ b[idxB(i)] over a rank-4 broadcast. */
export function binaryKernel(this: KernelThis<BroadcastConsts>, a: number[], b: number[]): number {
  const i = this.thread.x;
  const q3 = Math.floor((i + 0.5) / this.constants.d3);
  const i3 = i - q3 * this.constants.d3;
  const q2 = Math.floor((q3 + 0.5) / this.constants.d2);
  const i2 = q3 - q2 * this.constants.d2;
  const i0 = Math.floor((q2 + 0.5) / this.constants.d1);
  const i1 = q2 - i0 * this.constants.d1;
  const x =
    a[i0 * this.constants.a0 + i1 * this.constants.a1 + i2 * this.constants.a2 + i3 * this.constants.a3];
  const y =
    b[i0 * this.constants.b0 + i1 * this.constants.b1 + i2 * this.constants.b2 + i3 * this.constants.b3];
  if (this.constants.op === 0) return x + y;
  if (this.constants.op === 1) return x - y;
  if (this.constants.op === 2) return x * y;
  if (this.constants.op === 3) return x / y;
  if (this.constants.op === 4) return Math.max(x, y);
  if (this.constants.op === 5) return Math.min(x, y);
  return Math.pow(x, y);
}

/** gpu.js kernel: out[i] = f(x[i]). */
export function unaryKernel(this: KernelThis<{ op: number }>, x: number[]): number {
  const v = x[this.thread.x];
  const op = this.constants.op;
  if (op === 0) return Math.exp(v);
  if (op === 1) return Math.log(v);
  if (op === 2) return Math.sqrt(v);
  if (op === 3) return Math.abs(v);
  if (op === 4) return -v;
  if (op === 5) return Math.max(v, 0);
  if (op === 6) return 1 / (1 + Math.exp(-Math.max(Math.min(v, 80), -80)));
  if (op === 7) {
    const e = Math.exp(-2 * Math.min(Math.abs(v), 40));
    const t = (1 - e) / (1 + e);
    return v < 0 ? -t : t;
  }
  if (op === 8) return v * v;
  return 1 / v;
}

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

/** a ∘ b with broadcasting, on the current backend. */
export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const out = broadcastShapes(a.shape, b.shape, op);
  checkBinaryDomain(op, a, b);
  const n = shapeSize(out);
  if (n === 0) return Tensor.zeros(out);
  const pa = pad4(out, broadcastStrides(a.shape, out));
  const pb = pad4(out, broadcastStrides(b.shape, out));
  const [, d1, d2, d3] = pa.dims;
  const result = runKernel(
    {
      name: 'binary',
      fn: binaryKernel,
      output: [n],
      constants: {
        op: BINARY_CODES[op],
        d1,
        d2,
        d3,
        a0: pa.strides[0],
        a1: pa.strides[1],
        a2: pa.strides[2],
        a3: pa.strides[3],
        b0: pb.strides[0],
        b1: pb.strides[1],
        b2: pb.strides[2],
        b3: pb.strides[3],
      },
    },
    a.data,
    b.data,
  );
  const res = new Tensor(result, out);
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

/** f(x) elementwise on the current backend. */
export function unary(op: UnaryOp, x: Tensor): Tensor {
  checkUnaryDomain(op, x);
  if (x.size === 0) return Tensor.zeros(x.shape);
  const out = runKernel(
    { name: 'unary', fn: unaryKernel, output: [x.size], constants: { op: UNARY_CODES[op] } },
    x.data,
  );
  return new Tensor(out, x.shape);
}

export const add = (a: Tensor, b: Tensor): Tensor => binary('add', a, b);
export const sub = (a: Tensor, b: Tensor): Tensor => binary('sub', a, b);
export const mul = (a: Tensor, b: Tensor): Tensor => binary('mul', a, b);
export const div = (a: Tensor, b: Tensor): Tensor => binary('div', a, b);

const BINARY_REF: Record<BinaryOp, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  maximum: Math.max,
  minimum: Math.min,
  pow: Math.pow,
};

const UNARY_REF: Record<UnaryOp, (v: number) => number> = {
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

/** Plain-TS reference for `binary` (float64 arithmetic, same broadcasting). */
export function binaryReference(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const out = broadcastShapes(a.shape, b.shape, op);
  const sa = broadcastStrides(a.shape, out);
  const sb = broadcastStrides(b.shape, out);
  const n = shapeSize(out);
  const res = new Float32Array(n);
  const idx = new Array<number>(out.length).fill(0);
  const f = BINARY_REF[op];
  for (let i = 0; i < n; i++) {
    let oa = 0;
    let ob = 0;
    for (let d = 0; d < out.length; d++) {
      oa += idx[d] * sa[d];
      ob += idx[d] * sb[d];
    }
    res[i] = f(a.data[oa], b.data[ob]);
    for (let d = out.length - 1; d >= 0; d--) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
  return new Tensor(res, out);
}

/** Plain-TS reference for `unary`. */
export function unaryReference(op: UnaryOp, x: Tensor): Tensor {
  const f = UNARY_REF[op];
  return new Tensor(
    x.data.map((v) => f(v)),
    x.shape,
  );
}
