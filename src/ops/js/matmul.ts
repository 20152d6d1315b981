/**
 * Plain-TS matmul / linear kernels with contiguous inner loops (the `js` backend).
 *  - A·Bᵀ and linear (x·Wᵀ): four rows of A share each streamed row of B (register blocking over M),
 *    four partial sums along k for single rows;
 *  - A·B: four rows of A at a time update four output rows while one row of B streams past (i-k-j);
 *  - transposed A is copied to row-major first (M·K copies against M·K·N multiply-adds).
 * Accumulation is float64 (JS numbers), results rounded to float32 once.
 */
import type { LinearPlan, MatmulPlan } from '../matmul';
import { Tensor } from '../tensor';

/** out[M, N] (+)= x[M, K] · w[N, K]ᵀ (+ bias), rows of x from `xo`, rows of w from `wo`. */
export function gemmNT(
  x: Float32Array,
  xo: number,
  w: Float32Array,
  wo: number,
  bias: Float32Array | undefined,
  out: Float32Array,
  oo: number,
  M: number,
  K: number,
  N: number,
): void {
  const K4 = K - (K % 4);
  for (let j = 0; j < N; j++) {
    const wb = wo + j * K;
    const b = bias ? bias[j] : 0;
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const a0 = xo + i * K;
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
      out[oo + i * N + j] = s0 + b;
      out[oo + (i + 1) * N + j] = s1 + b;
      out[oo + (i + 2) * N + j] = s2 + b;
      out[oo + (i + 3) * N + j] = s3 + b;
    }
    for (; i < M; i++) {
      const a = xo + i * K;
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
      out[oo + i * N + j] = s0 + s1 + s2 + s3 + b;
    }
  }
}

/** out[M, N] = a[M, K] · b[K, N], both row-major; `acc` is a float64 scratch of ≥ 4·N. */
function gemmNN(
  a: Float32Array,
  ao: number,
  b: Float32Array,
  bo: number,
  out: Float32Array,
  oo: number,
  M: number,
  K: number,
  N: number,
  acc: Float64Array,
): void {
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    acc.fill(0, 0, 4 * N);
    const r0 = ao + i * K;
    for (let k = 0; k < K; k++) {
      const x0 = a[r0 + k];
      const x1 = a[r0 + K + k];
      const x2 = a[r0 + 2 * K + k];
      const x3 = a[r0 + 3 * K + k];
      const bb = bo + k * N;
      for (let j = 0; j < N; j++) {
        const v = b[bb + j];
        acc[j] += x0 * v;
        acc[N + j] += x1 * v;
        acc[2 * N + j] += x2 * v;
        acc[3 * N + j] += x3 * v;
      }
    }
    for (let j = 0; j < 4 * N; j++) out[oo + i * N + j] = acc[j];
  }
  for (; i < M; i++) {
    acc.fill(0, 0, N);
    const r = ao + i * K;
    for (let k = 0; k < K; k++) {
      const x = a[r + k];
      if (x === 0) continue;
      const bb = bo + k * N;
      for (let j = 0; j < N; j++) acc[j] += x * b[bb + j];
    }
    for (let j = 0; j < N; j++) out[oo + i * N + j] = acc[j];
  }
}

/** Row-major copy of Aᵀ for one batch: A stored [K, M] → [M, K]. */
function transposeInto(src: Float32Array, so: number, rows: number, cols: number, dst: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const s = so + r * cols;
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[s + c];
  }
}

/** `matmul` kernel of the js backend. */
export function matmulJs(a: Tensor, b: Tensor, p: MatmulPlan): Tensor {
  const { batch, M, K, N } = p;
  const A = a.data;
  const B = b.data;
  const out = new Float32Array(batch * M * N);
  const at = p.transA ? new Float32Array(M * K) : undefined;
  const bt = p.transA && p.transB ? new Float32Array(K * N) : undefined;
  const acc = p.transB && !p.transA ? undefined : new Float64Array(4 * N);
  for (let z = 0; z < batch; z++) {
    let aSrc = A;
    let ao = z * p.aBatch;
    if (at) {
      transposeInto(A, ao, K, M, at);
      aSrc = at;
      ao = 0;
    }
    const bo = z * p.bBatch;
    const oo = z * M * N;
    if (p.transB && !p.transA) {
      gemmNT(aSrc, ao, B, bo, undefined, out, oo, M, K, N);
    } else if (bt) {
      // Aᵀ·Bᵀ: B stored [N, K]; make it [K, N] and multiply row-major.
      transposeInto(B, bo, N, K, bt);
      gemmNN(aSrc, ao, bt, 0, out, oo, M, K, N, acc as Float64Array);
    } else {
      gemmNN(aSrc, ao, B, bo, out, oo, M, K, N, acc as Float64Array);
    }
  }
  return new Tensor(out, p.shape);
}

/** `linear` kernel of the js backend: y = x · Wᵀ + b with the register-blocked A·Bᵀ loop. */
export function linearJs(x: Tensor, w: Tensor, bias: Tensor | undefined, p: LinearPlan): Tensor {
  const out = new Float32Array(p.M * p.N);
  gemmNT(x.data, 0, w.data, 0, bias?.data, out, 0, p.M, p.K, p.N);
  return new Tensor(out, p.shape);
}
