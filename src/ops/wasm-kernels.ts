/**
 * The `wasm` backend's kernel table: GEMM-shaped ops on the hand-written WebAssembly SIMD `sgemm` of
 * src/ops/wasm (register- and cache-blocked, every core): matmul, linear, cosine, attention for
 * prefill-sized queries (batched GEMMs over the heads, in place: src/ops/wasm/attention.ts), and the
 * low-rank key reconstruction.
 * Every other op runs the `js` loop (the registry's per-op fallback wasm → js, reported per call).
 */
import type { AttentionDims } from './attention';
import type { CosinePlan } from './cosine';
import { attentionJs, type GemmNT } from './js/attention';
import { normaliseRows } from './js/cosine';
import { rotateRowsInPlace } from './js/lowrank';
import type { OpKernels } from './kernel-types';
import type { FusedDims } from './lowrank';
import type { LinearPlan, MatmulPlan } from './matmul';
import type { RopeTables } from './rope';
import { Tensor } from './tensor';
import { linearQuant, sgemm, wasmUnavailableReason as sgemmUnavailable, type QuantMatrix } from './wasm';
import { attentionBatchedGemm } from './wasm/attention';

/** Why the wasm backend cannot run here (no WebAssembly SIMD / shared memory), or undefined if it can. */
export function wasmUnavailableReason(): string | undefined {
  return sgemmUnavailable();
}

function matmulWasm(a: Tensor, b: Tensor, p: MatmulPlan): Tensor {
  const out = new Float32Array(p.batch * p.M * p.N);
  sgemm(p.transA, p.transB, p.M, p.N, p.K, a.data, b.data, out, {
    batch: p.batch,
    strideA: p.aBatch,
    strideB: p.bBatch,
    strideC: p.M * p.N,
  });
  return new Tensor(out, p.shape);
}

function linearWasm(x: Tensor, w: Tensor, bias: Tensor | undefined, p: LinearPlan): Tensor {
  const out = new Float32Array(p.M * p.N);
  if (bias) for (let i = 0; i < p.M; i++) out.set(bias.data, i * p.N);
  sgemm(false, true, p.M, p.N, p.K, x.data, w.data, out, { beta: bias ? 1 : 0 });
  return new Tensor(out, p.shape);
}

const gemmNTWasm: GemmNT = (x, w, M, K, N) => sgemm(false, true, M, N, K, x, w, new Float32Array(M * N));

function cosineWasm(a: Tensor, b: Tensor, p: CosinePlan): Tensor {
  return new Tensor(
    gemmNTWasm(normaliseRows(a.data, p.n, p.d), normaliseRows(b.data, p.m, p.d), p.n, p.d, p.m),
    [p.n, p.m],
  );
}

/** Queries per call from which the two-GEMM form beats the scalar loops (prefill; decode stays scalar). */
const ATTENTION_GEMM_MIN_T = 8;

function attentionWasm(q: Tensor, k: Tensor, v: Tensor, g: AttentionDims): Tensor {
  if (g.T < ATTENTION_GEMM_MIN_T) return attentionJs(q, k, v, g);
  return new Tensor(attentionBatchedGemm(q.data, k.data, v.data, g), q.shape);
}

/** Reconstruct every held key row as one product C · V_cᵀ on the SIMD GEMM, then rotate the rows. */
function reconstructRopeWasm(c: Tensor, basis: Tensor, tables: RopeTables, g: FusedDims): Tensor {
  const rows = g.B * g.S;
  const width = g.Hkv * g.D;
  const k = gemmNTWasm(c.data, basis.data, rows, g.dc, width);
  rotateRowsInPlace(k, tables, g);
  return new Tensor(k, [g.B, g.S, g.Hkv, g.D]);
}

/** Quantized weights read as stored: SIMD block dot products (decode) or chunked dequantize + GEMM (prefill). */
function quantLinearWasm(x: Tensor, w: QuantMatrix, bias: Tensor | undefined, p: LinearPlan): Tensor {
  const out = linearQuant(x.data, p.M, w);
  if (bias) for (let i = 0; i < p.M; i++) for (let j = 0; j < p.N; j++) out[i * p.N + j] += bias.data[j];
  return new Tensor(out, p.shape);
}

/** Ops with a wasm kernel (the rest fall back to js). */
export function wasmKernelTable(): Partial<OpKernels> {
  return {
    matmul: matmulWasm,
    linear: linearWasm,
    cosine: cosineWasm,
    attention: attentionWasm,
    reconstructRope: reconstructRopeWasm,
    quantLinear: quantLinearWasm,
  };
}
