/**
 * The kernel signature of every dispatched op. An op (src/ops/<op>.ts) checks its operands, builds a plan
 * and calls `dispatch(name, …)`; each backend provides a `Partial<OpKernels>` (src/ops/{gl,js,wasm}),
 * and the reference table is complete. Kernels receive checked operands only: they never raise shape errors.
 */
import type {
  Activation,
  AttentionDims,
  BinaryOp,
  BroadcastPlan,
  CosinePlan,
  FoldedDims,
  FusedDims,
  LinearPlan,
  MatmulPlan,
  NormPlan,
  ProxyProblem,
  RawSolve,
  ReducePlan,
  Reduction,
  RngConsts,
  RopePlan,
  RopeTables,
  RowsPlan,
  TopkPlan,
  UnaryOp,
  QuantLinearPlan,
} from './plans';
import type { QuantMatrix } from './wasm';
import type { Tensor } from './tensor';

export interface OpKernels {
  matmul(a: Tensor, b: Tensor, p: MatmulPlan): Tensor;
  linear(x: Tensor, w: Tensor, bias: Tensor | undefined, p: LinearPlan): Tensor;
  attention(q: Tensor, k: Tensor, v: Tensor, g: AttentionDims): Tensor;
  attentionProbs(q: Tensor, k: Tensor, g: AttentionDims): Tensor;
  rowSoftmax(x: Tensor, p: RowsPlan): Tensor;
  rmsNorm(x: Tensor, weight: Tensor, p: NormPlan): Tensor;
  layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, p: NormPlan): Tensor;
  activation(kind: Activation, x: Tensor): Tensor;
  swiglu(g: Tensor, u: Tensor): Tensor;
  rope(x: Tensor, tables: RopeTables, p: RopePlan): Tensor;
  binary(op: BinaryOp, a: Tensor, b: Tensor, p: BroadcastPlan): Tensor;
  unary(op: UnaryOp, x: Tensor): Tensor;
  reduce(op: Reduction, x: Tensor, p: ReducePlan): Tensor;
  topk(x: Tensor, p: TopkPlan): Int32Array;
  cosine(a: Tensor, b: Tensor, p: CosinePlan): Tensor;
  random(shape: number[], k: RngConsts): Tensor;
  reconstructRope(c: Tensor, basis: Tensor, tables: RopeTables, g: FusedDims): Tensor;
  foldedAttention(q: Tensor, keys: Tensor, cv: Tensor, folded: Tensor, g: FoldedDims): Tensor;
  proxySolve(problem: ProxyProblem): RawSolve;
  quantLinear(x: Tensor, w: QuantMatrix, bias: Tensor | undefined, p: QuantLinearPlan): Tensor;
}

export type OpName = keyof OpKernels;

/** Every dispatched op, in the order the parity table lists them. */
export const OP_NAMES: readonly OpName[] = [
  'matmul',
  'linear',
  'attention',
  'attentionProbs',
  'rowSoftmax',
  'rmsNorm',
  'layerNorm',
  'activation',
  'swiglu',
  'rope',
  'binary',
  'unary',
  'reduce',
  'topk',
  'cosine',
  'random',
  'reconstructRope',
  'foldedAttention',
  'proxySolve',
  'quantLinear',
];
