/**
 * Batched matrix multiplication C[b] = op(A[b]) · op(B[b]) with op = identity or transpose, and the
 * linear layer y = x · Wᵀ + b (weights stored [out, in], the `nn.Linear` / GGUF layout).
 * A batch of size 1 broadcasts against the other operand's batch. Shape checks and the float64
 * references live here; the kernels are in gl/, js/ and wasm/ (see registry.ts).
 */
import { assertFinite, assertRank } from './checks';
import { ShapeError } from './errors';
import { dispatch } from './registry';
import { Tensor, shapeSize } from './tensor';
import type { MatmulPlan, LinearPlan } from './plans';
export type { MatmulPlan, LinearPlan } from './plans';

export interface MatmulOptions {
  /** Treat A's last two axes as transposed (A stored as [.., K, M]). */
  transA?: boolean;
  /** Treat B's last two axes as transposed (B stored as [.., N, K]); the fast layout. */
  transB?: boolean;
}

/** Check shapes (ShapeError naming both operands) and lay out a batched matmul. */
export function matmulPlan(a: Tensor, b: Tensor, opts: MatmulOptions = {}): MatmulPlan {
  assertRank(a, [2, 3], 'matmul', 'A');
  assertRank(b, [2, 3], 'matmul', 'B');
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const transA = opts.transA === true;
  const transB = opts.transB === true;
  const M = transA ? ac : ar;
  const Ka = transA ? ar : ac;
  const Kb = transB ? bc : br;
  const N = transB ? br : bc;
  if (Ka !== Kb) {
    throw new ShapeError(
      `matmul: inner dimensions differ: A [${a.shape.join(', ')}]${transA ? 'ᵀ' : ''} · B [${b.shape.join(', ')}]${transB ? 'ᵀ' : ''} (${Ka} vs ${Kb})`,
    );
  }
  const ba = a.rank === 3 ? a.shape[0] : 1;
  const bb = b.rank === 3 ? b.shape[0] : 1;
  if (ba !== bb && ba !== 1 && bb !== 1) {
    throw new ShapeError(`matmul: batch sizes ${ba} and ${bb} do not broadcast`);
  }
  const batch = Math.max(ba, bb);
  return {
    batch,
    M,
    K: Ka,
    N,
    transA,
    transB,
    aRow: transA ? 1 : ac,
    aCol: transA ? ac : 1,
    bRow: transB ? 1 : bc,
    bCol: transB ? bc : 1,
    aBatch: ba === 1 ? 0 : ar * ac,
    bBatch: bb === 1 ? 0 : br * bc,
    shape: a.rank === 3 || b.rank === 3 ? [batch, M, N] : [M, N],
  };
}

/** Batched matmul on the selected backend. Shapes: A [B?, M, K], B [B?, K, N] (before transposes). */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const p = matmulPlan(a, b, opts);
  assertFinite(a, 'matmul', 'A');
  assertFinite(b, 'matmul', 'B');
  if (p.M === 0 || p.N === 0 || p.batch === 0) return Tensor.zeros(p.shape);
  if (p.K === 0) return Tensor.zeros(p.shape);
  return dispatch('matmul', a, b, p);
}

/** `matmul` for callers written against the old async contract; the same result. */
export async function matmulAsync(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Promise<Tensor> {
  return matmul(a, b, opts);
}

/** Float64 reference kernel of `matmul` (strided reads cover every layout). */
export function matmulRef(a: Tensor, b: Tensor, p: MatmulPlan): Tensor {
  const { K, aRow, aCol, bRow, bCol, aBatch, bBatch } = p;
  const A = a.data;
  const B = b.data;
  const out = new Float32Array(p.batch * p.M * p.N);
  for (let z = 0; z < p.batch; z++) {
    for (let i = 0; i < p.M; i++) {
      for (let j = 0; j < p.N; j++) {
        let s = 0;
        const ab = z * aBatch + i * aRow;
        const bb = z * bBatch + j * bCol;
        for (let k = 0; k < K; k++) s += A[ab + k * aCol] * B[bb + k * bRow];
        out[(z * p.M + i) * p.N + j] = s;
      }
    }
  }
  return new Tensor(out, p.shape);
}

/** Plain-TS reference (float64 accumulation) with the same semantics as `matmul`. */
export function matmulReference(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  return matmulRef(a, b, matmulPlan(a, b, opts));
}

/** Check y = x · Wᵀ + b shapes; `what` names the layer in the error (e.g. `layer 3 q_proj`). */
export function linearPlan(x: Tensor, w: Tensor, bias: Tensor | undefined, what = 'linear'): LinearPlan {
  if (w.rank !== 2) throw new ShapeError(`${what}: weight must be [out, in], got [${w.shape.join(', ')}]`);
  if (x.rank < 1) throw new ShapeError(`${what}: input must have at least one axis`);
  const [N, K] = w.shape;
  const xk = x.shape[x.rank - 1];
  if (xk !== K) {
    throw new ShapeError(
      `${what}: input [${x.shape.join(', ')}] does not match weight [${w.shape.join(', ')}] (in = ${K})`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== N)) {
    throw new ShapeError(`${what}: bias [${bias.shape.join(', ')}] does not match out = ${N}`);
  }
  const lead = x.shape.slice(0, -1);
  return { M: shapeSize(lead), K, N, shape: [...lead, N] };
}

/** y = x · Wᵀ (+ b) on the selected backend: x [..., in], W [out, in], b [out] (every projection). */
export function linear(x: Tensor, w: Tensor, bias?: Tensor, what = 'linear'): Tensor {
  const p = linearPlan(x, w, bias, what);
  if (p.M === 0 || p.N === 0) return Tensor.zeros(p.shape);
  if (p.K === 0) {
    const out = new Float32Array(p.M * p.N);
    if (bias) for (let i = 0; i < p.M; i++) out.set(bias.data, i * p.N);
    return new Tensor(out, p.shape);
  }
  return dispatch('linear', x, w, bias, p);
}

/** Float64 reference kernel of `linear`. */
export function linearRef(x: Tensor, w: Tensor, bias: Tensor | undefined, p: LinearPlan): Tensor {
  const { M, K, N } = p;
  const X = x.data;
  const W = w.data;
  const out = new Float32Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = bias ? bias.data[j] : 0;
      for (let k = 0; k < K; k++) s += X[i * K + k] * W[j * K + k];
      out[i * N + j] = s;
    }
  }
  return new Tensor(out, p.shape);
}

/** Plain-TS float64 reference for `linear`. */
export function linearReference(x: Tensor, w: Tensor, bias?: Tensor, what = 'linear'): Tensor {
  return linearRef(x, w, bias, linearPlan(x, w, bias, what));
}
