/** Plain-TS elementwise kernels: a plain zip for same-shape operands, nested loops for broadcasts. */
import { BINARY_REF, UNARY_REF, type BinaryOp, type BroadcastPlan, type UnaryOp } from '../elementwise';
import { outputBuffer } from '../buffers';
import { Tensor } from '../tensor';

/** `binary` kernel of the js backend. */
export function binaryJs(op: BinaryOp, a: Tensor, b: Tensor, p: BroadcastPlan): Tensor {
  const A = a.data;
  const B = b.data;
  const out = outputBuffer(p.n);
  if (p.same && op === 'add') {
    for (let i = 0; i < out.length; i++) out[i] = A[i] + B[i];
  } else if (p.same && op === 'mul') {
    for (let i = 0; i < out.length; i++) out[i] = A[i] * B[i];
  } else {
    const f = BINARY_REF[op];
    const [d0, d1, d2, d3] = p.dims;
    const [a0, a1, a2, a3] = p.aStrides;
    const [b0, b1, b2, b3] = p.bStrides;
    let o = 0;
    for (let i0 = 0; i0 < d0; i0++)
      for (let i1 = 0; i1 < d1; i1++)
        for (let i2 = 0; i2 < d2; i2++) {
          const ao = i0 * a0 + i1 * a1 + i2 * a2;
          const bo = i0 * b0 + i1 * b1 + i2 * b2;
          for (let i3 = 0; i3 < d3; i3++) out[o++] = f(A[ao + i3 * a3], B[bo + i3 * b3]);
        }
  }
  return new Tensor(out, p.shape);
}

/** `unary` kernel of the js backend. */
export function unaryJs(op: UnaryOp, x: Tensor): Tensor {
  const f = UNARY_REF[op];
  const d = x.data;
  const out = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = f(d[i]);
  return new Tensor(out, x.shape);
}
