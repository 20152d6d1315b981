/**
 * Shared by the sgemm tests of both GEMM engines (wasm-gemm.test.ts, native-gemm.test.ts): a case, its
 * float64 reference and the rigorous float32 error bound |ĉ − c| ≤ γ · (|alpha| Σ_k |a_ik b_kj| + |beta c_ij|),
 * γ = (K + 4) · 2⁻²⁴ (4 extra roundings: alpha, beta, the final add, the accumulation across K blocks).
 */
import assert from 'node:assert/strict';
import type { GemmCall } from '../../src/ops/native/sgemm';
import { allocF32, sgemm, type SgemmOptions } from '../../src/ops/wasm';

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

export const rnd = (n: number, r: () => number): Float32Array => Float32Array.from({ length: n }, r);

export interface Case {
  tA: boolean;
  tB: boolean;
  M: number;
  N: number;
  K: number;
  batch?: number;
  alpha?: number;
  beta?: number;
  lda?: number;
  ldb?: number;
  ldc?: number;
  strideA?: number;
  strideB?: number;
  strideC?: number;
}

/**
 * Run a case through `sgemm` (with `opts`, e.g. the wasm kernels to use), or through `engine` on the
 * same laid-out call, and compare with the float64 reference and the error bound; returns the worst
 * error / bound ratio.
 */
export function check(
  opts: SgemmOptions,
  c: Case,
  r: () => number,
  arena = false,
  engine?: (A: Float32Array, B: Float32Array, C: Float32Array, g: GemmCall) => void,
): number {
  const { tA, tB, M, N, K } = c;
  const batch = c.batch ?? 1;
  const [aR, aC] = tA ? [K, M] : [M, K];
  const [bR, bC] = tB ? [N, K] : [K, N];
  const lda = c.lda ?? aC;
  const ldb = c.ldb ?? bC;
  const ldc = c.ldc ?? N;
  const sA = c.strideA ?? aR * lda;
  const sB = c.strideB ?? bR * ldb;
  const sC = c.strideC ?? M * ldc;
  const alpha = c.alpha ?? 1;
  const beta = c.beta ?? 0;
  const mk = (n: number): Float32Array => {
    const x = arena ? allocF32(n) : new Float32Array(n);
    x.set(rnd(n, r));
    return x;
  };
  const A = mk((batch - 1) * sA + aR * lda);
  const B = mk((batch - 1) * sB + bR * ldb);
  const C = mk((batch - 1) * sC + M * ldc);
  const C0 = Float64Array.from(C);
  if (engine) {
    const g = { transA: tA, transB: tB, M, N, K, alpha, beta, batch, lda, ldb, ldc };
    engine(A, B, C, { ...g, strideA: sA, strideB: sB, strideC: sC });
  } else sgemm(tA, tB, M, N, K, A, B, C, { ...c, ...opts });
  let worst = 0;
  const touched = new Uint8Array(C.length);
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        let sAbs = 0;
        for (let p = 0; p < K; p++) {
          const a = A[b * sA + (tA ? p * lda + i : i * lda + p)];
          const bb = B[b * sB + (tB ? j * ldb + p : p * ldb + j)];
          s += a * bb;
          sAbs += Math.abs(a * bb);
        }
        const o = b * sC + i * ldc + j;
        touched[o] = 1;
        const want = alpha * s + (beta === 0 ? 0 : beta * C0[o]);
        const bound = (K + 4) * 2 ** -24 * (Math.abs(alpha) * sAbs + Math.abs(beta * C0[o])) + 1e-30;
        const err = Math.abs(C[o] - want);
        assert.ok(
          err <= bound,
          `${JSON.stringify(c)} C[${b},${i},${j}] = ${C[o]}, want ${want} (bound ${bound})`,
        );
        worst = Math.max(worst, err / bound);
      }
  // Entries outside the M × N windows (ldc padding) are untouched.
  for (let o = 0; o < C.length; o++)
    if (!touched[o]) assert.equal(C[o], Math.fround(C0[o]), `padding C[${o}] changed`);
  return worst;
}
