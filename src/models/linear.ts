/**
 * y = x · Wᵀ (+ b) for a weight stored [out, in] (the `nn.Linear` / GGUF row layout): the hot loop of
 * every transformer layer. Two implementations:
 *  - `linearKernel` / `linearJs`: a plain-TS register-blocked kernel (4 rows of x share each weight
 *    row; the weight streams from memory once per 4 rows) — the fast path on this 2-core CPU;
 *  - `linearOps`: `ops.matmul(x, W, {transB: true})` on the current gpu.js backend.
 * `linearReference` is the float64 plain-TS reference both are tested against.
 */
import { matmul } from '../ops/matmul';
import { Tensor } from '../ops/tensor';
import { ShapeError } from '../errors';

function check(x: Tensor, w: Tensor, bias: Tensor | undefined, what: string): [number, number, number] {
  if (w.rank !== 2) throw new ShapeError(`${what}: weight must be [out, in], got [${w.shape.join(', ')}]`);
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
  return [K === 0 ? 0 : x.size / K, K, N];
}

function outShape(x: Tensor, N: number): number[] {
  return [...x.shape.slice(0, -1), N];
}

/** Raw kernel: out[M, N] = x[M, K] · w[N, K]ᵀ (+ bias), float32 accumulation in 4 partial sums. */
export function linearKernel(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | undefined,
  out: Float32Array,
  M: number,
  K: number,
  N: number,
): void {
  const K4 = K - (K % 4);
  for (let j = 0; j < N; j++) {
    const wb = j * K;
    const b = bias ? bias[j] : 0;
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const a0 = i * K;
      const a1 = a0 + K;
      const a2 = a1 + K;
      const a3 = a2 + K;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < K; k++) {
        const wv = w[wb + k];
        s0 += x[a0 + k] * wv;
        s1 += x[a1 + k] * wv;
        s2 += x[a2 + k] * wv;
        s3 += x[a3 + k] * wv;
      }
      out[i * N + j] = s0 + b;
      out[(i + 1) * N + j] = s1 + b;
      out[(i + 2) * N + j] = s2 + b;
      out[(i + 3) * N + j] = s3 + b;
    }
    for (; i < M; i++) {
      const a = i * K;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let k = 0;
      for (; k < K4; k += 4) {
        s0 += x[a + k] * w[wb + k];
        s1 += x[a + k + 1] * w[wb + k + 1];
        s2 += x[a + k + 2] * w[wb + k + 2];
        s3 += x[a + k + 3] * w[wb + k + 3];
      }
      for (; k < K; k++) s0 += x[a + k] * w[wb + k];
      out[i * N + j] = s0 + s1 + s2 + s3 + b;
    }
  }
}

/** y = x · Wᵀ + b with the plain-TS blocked kernel. x [..., in], W [out, in], b [out]. */
export function linearJs(x: Tensor, w: Tensor, bias?: Tensor, what = 'linear'): Tensor {
  const [M, K, N] = check(x, w, bias, what);
  const out = new Float32Array(M * N);
  linearKernel(x.data, w.data, bias?.data, out, M, K, N);
  return new Tensor(out, outShape(x, N));
}

/** y = x · Wᵀ + b through `ops.matmul(x, W, {transB: true})` on the current gpu.js backend. */
export function linearOps(x: Tensor, w: Tensor, bias?: Tensor, what = 'linear'): Tensor {
  const [M, K, N] = check(x, w, bias, what);
  const y = matmul(x.reshape([M, K]), w, { transB: true });
  if (bias) for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) y.data[i * N + j] += bias.data[j];
  return y.reshape(outShape(x, N));
}

/** Float64 reference for y = x · Wᵀ + b. */
export function linearReference(x: Tensor, w: Tensor, bias?: Tensor, what = 'linear'): Tensor {
  const [M, K, N] = check(x, w, bias, what);
  const out = new Float32Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = bias ? bias.data[j] : 0;
      for (let k = 0; k < K; k++) s += x.data[i * K + k] * w.data[j * K + k];
      out[i * N + j] = s;
    }
  }
  return new Tensor(out, outShape(x, N));
}
