/**
 * The `wasm` backend's kernel table: GEMM-shaped ops on the hand-written WebAssembly SIMD `sgemm` of
 * src/ops/wasm (register- and cache-blocked, every core): matmul, linear, cosine, attention for
 * prefill-sized queries (batched GEMMs over the heads, in place: src/ops/wasm/attention.ts), and the
 * low-rank key reconstruction; and on the module's single-threaded SIMD row kernels
 * (src/ops/wasm/gen-elementwise.ts): SiLU, GELU (erf), SwiGLU, RMSNorm, LayerNorm.
 * Every other op runs the `js` loop (the registry's per-op fallback wasm → js, reported per call).
 */
import type { AttentionDims } from './attention';
import type { CosinePlan } from './cosine';
import { attentionJs, type GemmNT } from './js/attention';
import { normaliseRows } from './js/cosine';
import { rotateRowsInPlace } from './js/lowrank';
import { activationJs } from './js/activations';
import type { OpKernels } from './kernel-types';
import type { Activation, NormPlan, RngConsts } from './plans';
import type { FusedDims } from './lowrank';
import type { LinearPlan, MatmulPlan } from './matmul';
import type { RopeTables } from './rope';
import { Tensor, shapeSize } from './tensor';
import { outputBuffer } from './buffers';
import { linearQuant, sgemm, wasmUnavailableReason as sgemmUnavailable, type QuantMatrix } from './wasm';
import { attentionBatchedGemm } from './wasm/attention';
import { attentionRows, foldedAttentionRows, ropeHalfRows } from './wasm/rows';
import { ropeJs } from './js/rope';
import type { FoldedDims } from './lowrank';
import type { RopePlan } from './rope';
import type { QuantLinearPlan } from './quant-linear';
import { requireKernels, type ElementwiseName, type WasmKernels } from './wasm/runtime';
import type { Job } from './wasm/pool';

/** Why the wasm backend cannot run here (no WebAssembly SIMD / shared memory), or undefined if it can. */
export function wasmUnavailableReason(): string | undefined {
  return sgemmUnavailable();
}

function matmulWasm(a: Tensor, b: Tensor, p: MatmulPlan): Tensor {
  const out = outputBuffer(p.batch * p.M * p.N);
  sgemm(p.transA, p.transB, p.M, p.N, p.K, a.data, b.data, out, {
    batch: p.batch,
    strideA: p.aBatch,
    strideB: p.bBatch,
    strideC: p.M * p.N,
  });
  return new Tensor(out, p.shape);
}

function linearWasm(x: Tensor, w: Tensor, bias: Tensor | undefined, p: LinearPlan): Tensor {
  const out = outputBuffer(p.M * p.N);
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

/** Queries per call from which the two-GEMM form beats the row kernel (prefill; decode runs `attnRows`). */
export const ATTENTION_GEMM_MIN_T = 8;

function attentionWasm(q: Tensor, k: Tensor, v: Tensor, g: AttentionDims): Tensor {
  if (g.T < ATTENTION_GEMM_MIN_T) {
    if (g.mask) return attentionJs(q, k, v, g);
    return new Tensor(attentionRows(q.data, k.data, v.data, g), q.shape);
  }
  return new Tensor(attentionBatchedGemm(q.data, k.data, v.data, g), q.shape);
}

/**
 * Reconstruct every held key row as one product C · V_cᵀ on the GEMM into the shared memory, rotate the
 * rows there ('half': the SIMD row kernel; 'interleaved': the js loop), then copy them out once.
 */
function reconstructRopeWasm(c: Tensor, basis: Tensor, tables: RopeTables, g: FusedDims): Tensor {
  const rows = g.B * g.S;
  const width = g.Hkv * g.D;
  if (g.interleaved) {
    const k = gemmNTWasm(c.data, basis.data, rows, g.dc, width);
    rotateRowsInPlace(k, tables, g);
    return new Tensor(k, [g.B, g.S, g.Hkv, g.D]);
  }
  const { arena } = requireKernels();
  // A caller's buffer in the shared memory is written directly (and returned, no copy).
  const direct = g.out && arena.owns(g.out) && g.out.length === rows * width ? g.out : undefined;
  const s = direct ? undefined : arena.scratch(4 * rows * width + 64);
  try {
    const k = direct ?? new Float32Array(arena.memory.buffer, (s as { ptr: number }).ptr, rows * width);
    sgemm(false, true, rows, width, g.dc, c.data, basis.data, k);
    for (let b = 0; b < g.B; b++) {
      const part = k.subarray(b * g.S * width, (b + 1) * g.S * width);
      ropeHalfRows(part, tables.cos, tables.sin, g.S, g.Hkv, g.D, part);
    }
    return new Tensor(direct ?? k.slice(), [g.B, g.S, g.Hkv, g.D]);
  } finally {
    s?.done();
  }
}

/** Folded attention (Eq. 5.9): the `attnRows` kernel over the compressed values, then one GEMM with W_o'. */
function foldedAttentionWasm(q: Tensor, keys: Tensor, cv: Tensor, folded: Tensor, g: FoldedDims): Tensor {
  return new Tensor(foldedAttentionRows(q.data, keys.data, cv.data, folded.data, g), [g.B, g.T, g.hidden]);
}

/** RoPE ('half' pairing on the SIMD row kernel; 'interleaved' on the js loop). */
function ropeWasm(x: Tensor, tables: RopeTables, p: RopePlan): Tensor {
  if (p.interleaved) return ropeJs(x, tables, p);
  return new Tensor(ropeHalfRows(x.data, tables.cos, tables.sin, p.T, p.H, p.D), x.shape);
}

/**
 * Quantized weights read as stored: SIMD block dot products (decode) or chunked dequantize + GEMM
 * (prefill); with `activations: 'i16'` decode-sized inputs are rounded to int16 per block (see
 * QuantActivations).
 */
function quantLinearWasm(x: Tensor, w: QuantMatrix, bias: Tensor | undefined, p: QuantLinearPlan): Tensor {
  const out = linearQuant(x.data, p.M, w, { activations: p.activations, out: outputBuffer(p.M * p.N) });
  if (bias) for (let i = 0; i < p.M; i++) for (let j = 0; j < p.N; j++) out[i * p.N + j] += bias.data[j];
  return new Tensor(out, p.shape);
}

/**
 * Run a row / elementwise kernel of the module: inputs already in the arena are read in place, others are
 * copied into scratch; the n-element result is copied out of the arena. By default the named kernel runs
 * on this thread with (...input pointers, output pointer, ...scalars); `run` replaces that call (e.g. to
 * split the work over the pool).
 */
function ewCall(
  name: ElementwiseName,
  inputs: Float32Array[],
  n: number,
  scalars: number[] = [],
  run?: (k: WasmKernels, ptrs: number[], out: number) => void,
): Float32Array {
  const k = requireKernels();
  const { arena } = k;
  const held: { done: () => void }[] = [];
  try {
    const ptrs = inputs.map((x) => {
      if (arena.owns(x)) return x.byteOffset;
      const s = arena.scratch(4 * x.length + 64);
      held.push(s);
      new Float32Array(arena.memory.buffer, s.ptr, x.length).set(x);
      return s.ptr;
    });
    const out = arena.scratch(4 * n + 64);
    held.push(out);
    if (run) run(k, ptrs, out.ptr);
    else k.ew[name](...ptrs, out.ptr, ...scalars);
    const res = outputBuffer(n);
    res.set(new Float32Array(arena.memory.buffer, out.ptr, n));
    return res;
  } finally {
    for (const h of held) h.done();
  }
}

function activationWasm(kind: Activation, x: Tensor): Tensor {
  if (kind === 'gelu_tanh') return activationJs(kind, x);
  return new Tensor(ewCall(kind, [x.data], x.size, [x.size]), x.shape);
}

/** Elements from which SwiGLU is split over the pool's threads (below, one thread is faster). */
const SWIGLU_SPLIT_MIN = 1 << 15;

/** SwiGLU (silu(g) · u) on the SIMD kernel, split over the pool's threads for prefill-sized inputs. */
function swigluWasm(g: Tensor, u: Tensor): Tensor {
  const n = g.size;
  const split = (k: WasmKernels, [gp, up]: number[], out: number): void => {
    const per = Math.ceil(n / k.threads / 16) * 16;
    const jobs: Job[] = [];
    for (let i = 0; i < n; i += per) {
      jobs.push({ name: 'swiglu', args: [gp + 4 * i, up + 4 * i, out + 4 * i, Math.min(per, n - i)] });
    }
    k.pool.run(jobs);
  };
  const threaded = n >= SWIGLU_SPLIT_MIN && requireKernels().threads >= 2;
  return new Tensor(ewCall('swiglu', [g.data, u.data], n, [n], threaded ? split : undefined), g.shape);
}

/** ewCall with the output pointer before the trailing row counts (the norm kernels' argument order). */
function normCall(name: 'rmsnorm' | 'layernorm', inputs: Float32Array[], p: NormPlan): Float32Array {
  return ewCall(name, inputs, p.rows * p.cols, [p.rows, p.cols, p.eps]);
}

function rmsNormWasm(x: Tensor, weight: Tensor, p: NormPlan): Tensor {
  return new Tensor(normCall('rmsnorm', [x.data, weight.data], p), x.shape);
}

function layerNormWasm(x: Tensor, gamma: Tensor, beta: Tensor, p: NormPlan): Tensor {
  return new Tensor(normCall('layernorm', [x.data, gamma.data, beta.data], p), x.shape);
}

/** The generator (`random`, src/ops/random.ts) on the module's SIMD integer kernel, bit for bit `randomRef`. */
function randomWasm(shape: number[], k: RngConsts): Tensor {
  const n = shapeSize(shape);
  const thr = Math.ceil(k.p * 2 ** 24); // x < p·2^24 ⟺ x < ⌈p·2^24⌉ for the integer x
  const scalars = [0, n, k.s0, k.s1, k.mode, thr, Math.fround(k.scale)];
  return new Tensor(ewCall('rng24', [], n, scalars), shape);
}

/** Ops with a wasm kernel (the rest fall back to js). */
export function wasmKernelTable(): Partial<OpKernels> {
  return {
    matmul: matmulWasm,
    linear: linearWasm,
    cosine: cosineWasm,
    attention: attentionWasm,
    reconstructRope: reconstructRopeWasm,
    foldedAttention: foldedAttentionWasm,
    rope: ropeWasm,
    quantLinear: quantLinearWasm,
    activation: activationWasm,
    swiglu: swigluWasm,
    rmsNorm: rmsNormWasm,
    layerNorm: layerNormWasm,
    random: randomWasm,
  };
}
