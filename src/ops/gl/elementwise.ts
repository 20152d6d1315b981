/** gpu.js elementwise kernels: rank-4 broadcast binary ops and unary maps, flat outputs. */
import { BINARY_CODES, UNARY_CODES, type BinaryOp, type BroadcastPlan, type UnaryOp } from '../elementwise';
import type { Tensor } from '../tensor';
import type { KernelThis } from './kernel-this';
import { runResidentOrHost } from './resident';

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

/** `binary` on GL. */
export function binaryGl(op: BinaryOp, a: Tensor, b: Tensor, p: BroadcastPlan): Tensor {
  const [, d1, d2, d3] = p.dims;
  const [a0, a1, a2, a3] = p.aStrides;
  const [b0, b1, b2, b3] = p.bStrides;
  return runResidentOrHost(
    {
      name: 'binary',
      fn: binaryKernel,
      output: [p.n],
      constants: { op: BINARY_CODES[op], d1, d2, d3, a0, a1, a2, a3, b0, b1, b2, b3 },
    },
    p.shape,
    a,
    b,
  );
}

/** `unary` on GL. */
export function unaryGl(op: UnaryOp, x: Tensor): Tensor {
  return runResidentOrHost(
    { name: 'unary', fn: unaryKernel, output: [x.size], constants: { op: UNARY_CODES[op] } },
    x.shape,
    x,
  );
}
