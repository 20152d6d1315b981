/**
 * CPU-path benchmarks of the wasm kernels (src/ops/wasm), numpy in the same run:
 *  - gemm-sgemm: sgemm GFLOP/s at n = 1024 (ours: relaxed-SIMD FMA, all threads) against numpy's
 *    a @ b; config also has the prefill / embedding shapes (M = 128..512, K = 576/1536/384), each with
 *    the portable mul + add kernels beside it, and the one-thread FMA figure at n = 1024. Every kernel
 *    set is warmed to V8's optimised tier first, and the variants are timed interleaved.
 *  - gemm-decode-quant: one decode step's linear layers of SmolLM2-135M (30 layers × q, k, v, o, gate,
 *    up, down at M = 1), ms per step with Q4_1 weights against numpy's float32 W @ x; config has the
 *    bytes/s of each weight format (and of the opt-in int16-activation kernels) next to the machine's
 *    read bandwidth (numpy summing 512 MB).
 * Run: npx tsx bench/gemm.bench.ts   (EFFLAB_BENCH_QUICK=1: tiny sizes, prints, writes nothing)
 */
import {
  allocBytes,
  allocF32,
  createKernels,
  linearQuant,
  sgemm,
  type QuantMatrix,
  type QuantType,
  type WasmKernels,
} from '../src/ops/wasm';
import { loadCheck, machine, medianMs, pythonBaseline, writeRecord } from './lib';

const QUICK = process.env.EFFLAB_BENCH_QUICK === '1';

interface Baseline {
  numpy: string;
  blas: string;
  gemm: number[];
  matvec_ms: number;
  matvec_bytes: number;
  read_gbs: number;
}

type Shape = [M: number, N: number, K: number, transB: boolean];

/** Square n = 1024 first (the headline), then prefill (SmolLM2: hidden 576, MLP 1536) and MiniLM (384, 1536). */
const SHAPES: Shape[] = QUICK
  ? [
      [64, 64, 64, false],
      [16, 96, 64, true],
    ]
  : [
      [1024, 1024, 1024, false],
      [512, 512, 512, false],
      [128, 576, 576, true],
      [128, 1536, 576, true],
      [128, 576, 1536, true],
      [512, 1536, 384, true],
      [512, 384, 1536, true],
      [256, 384, 384, true],
    ];

/** One decode step's linear layers as [N, K] (SmolLM2-135M: 30 layers; quick: 2 small ones). */
function decodeLayers(): [number, number][] {
  const layer: [number, number][] = QUICK
    ? [
        [64, 64],
        [128, 64],
      ]
    : [
        [576, 576],
        [192, 576],
        [192, 576],
        [576, 576],
        [1536, 576],
        [1536, 576],
        [576, 1536],
      ];
  const out: [number, number][] = [];
  for (let l = 0; l < (QUICK ? 2 : 30); l++) out.push(...layer);
  return out;
}

function fill(a: Float32Array, seed: number): Float32Array {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

/** Random quantized blocks with finite, normal scales (2^-4, offset −2^-1 for Q4_1). */
function quantMatrix(type: QuantType, rows: number, cols: number, seed: number): QuantMatrix {
  const bb = type === 'q8_0' ? 34 : 20;
  const nb = (rows * cols) / 32;
  const data = allocBytes(nb * bb);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  for (let b = 0; b < nb; b++) {
    data[b * bb] = 0x00;
    data[b * bb + 1] = 0x2c;
    if (type === 'q4_1') {
      data[b * bb + 2] = 0x00;
      data[b * bb + 3] = 0xb8;
    }
  }
  return { type, rows, cols, data };
}

function gflops(s: Shape, ms: number): number {
  return (2 * s[0] * s[1] * s[2]) / (ms * 1e6);
}

/** Operands of one shape in the wasm arena (read in place, as a model's weights and activations are). */
function operands(s: Shape): { A: Float32Array; B: Float32Array; C: Float32Array } {
  const [M, N, K] = s;
  return { A: fill(allocF32(M * K), 1), B: fill(allocF32(K * N), 2), C: allocF32(M * N) };
}

/**
 * Median ms per call of each kernel set on one shape. The calls are interleaved (a, b, c, a, b, c, …)
 * so a change of the machine's load during the run hits every variant alike, and each set has run
 * `warmup` calls first.
 */
function timeInterleaved(s: Shape, ks: WasmKernels[], reps: number, warmup: number): number[] {
  const [M, N, K, tB] = s;
  const { A, B, C } = operands(s);
  const run = (k: WasmKernels): void => {
    sgemm(false, tB, M, N, K, A, B, C, { kernels: k });
  };
  for (let w = 0; w < warmup; w++) ks.forEach(run);
  const times = ks.map(() => [] as number[]);
  for (let r = 0; r < reps; r++) {
    ks.forEach((k, i) => {
      const t = performance.now();
      run(k);
      times[i].push(performance.now() - t);
    });
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}

/**
 * Brings every kernel set to steady state before anything is timed: V8 first runs a wasm function as
 * baseline (Liftoff) code, 3–5× slower, and swaps in the optimised (TurboFan) code some calls later,
 * compiled in the background. A fresh kernel set timed with two warm-up calls (as the record did up to
 * 22:35 UTC on 30 Nov) can be measured half in baseline code, which made the FMA set, timed first,
 * look slower than the mul + add set timed after it.
 */
function warmUp(ks: WasmKernels[]): void {
  for (const s of SHAPES) timeInterleaved(s, ks, 0, 2);
}

async function main(): Promise<void> {
  const load = loadCheck();
  const layers = decodeLayers();
  const base = pythonBaseline<Baseline>('gemm_baseline.py', {
    gemm: SHAPES,
    matvec: { layers },
    bandwidth_mb: QUICK ? 16 : 512,
    reps: 5,
  });
  const fma2 = createKernels({ fma: true });
  const mul2 = createKernels({ fma: false });
  const fma1 = createKernels({ fma: true, threads: 1 });
  const reps = QUICK ? 3 : 7;
  warmUp([fma2, mul2, fma1]);

  const shapes = [];
  let variants = { fma_all_threads: 0, mul_add_all_threads: 0, fma_one_thread: 0 };
  for (let i = 0; i < SHAPES.length; i++) {
    const s = SHAPES[i];
    // the one-thread variant only at the headline shape (n = 1024)
    const ms = timeInterleaved(s, i === 0 ? [fma2, mul2, fma1] : [fma2, mul2], reps, 1);
    const ours = gflops(s, ms[0]);
    const numpy = gflops(s, base.gemm[i]);
    shapes.push({
      M: s[0],
      N: s[1],
      K: s[2],
      transB: s[3],
      ours_gflops: ours,
      mul_add_gflops: gflops(s, ms[1]),
      numpy_gflops: numpy,
      ratio: ours / numpy,
    });
    if (i === 0) {
      variants = {
        fma_all_threads: ours,
        mul_add_all_threads: gflops(s, ms[1]),
        fma_one_thread: gflops(s, ms[2]),
      };
    }
  }

  // Decode: every layer's W · x once, M = 1, weights in the arena (read in place).
  const xs = layers.map(([, K], i) => fill(allocF32(K), 100 + i));
  const f32W = layers.map(([N, K], i) => fill(allocF32(N * K), 200 + i));
  const outs = layers.map(([N]) => allocF32(N));
  const f32Ms = await medianMs(() => {
    layers.forEach(([N, K], i) => sgemm(false, true, 1, N, K, xs[i], f32W[i], outs[i], { kernels: fma2 }));
  }, reps);
  const f32Bytes = f32W.reduce((a, w) => a + w.byteLength, 0);
  const quant: Record<string, { ms: number; bytes: number; gbs: number }> = {};
  for (const type of ['q8_0', 'q4_1'] as const) {
    const ws = layers.map(([N, K], i) => quantMatrix(type, N, K, 300 + i));
    const bytes = ws.reduce((a, w) => a + w.data.byteLength, 0);
    for (const activations of ['f32', 'i16'] as const) {
      const ms = await medianMs(() => {
        layers.forEach((_, i) => linearQuant(xs[i], 1, ws[i], { out: outs[i], kernels: fma2, activations }));
      }, reps);
      quant[activations === 'f32' ? type : `${type}_i16`] = { ms, bytes, gbs: bytes / (ms * 1e6) };
    }
  }
  const config = {
    threads: fma2.threads,
    fma: fma2.fma,
    load1: load.load1,
    numpy_blas: base.blas,
    shapes,
    variants_n1024: variants,
    decode: {
      layers: layers.length,
      read_bandwidth_gbs_numpy_sum: base.read_gbs,
      numpy_f32_matvec: {
        ms: base.matvec_ms,
        bytes: base.matvec_bytes,
        gbs: base.matvec_bytes / (base.matvec_ms * 1e6),
      },
      ours_f32: { ms: f32Ms, bytes: f32Bytes, gbs: f32Bytes / (f32Ms * 1e6) },
      ...Object.fromEntries(Object.entries(quant).map(([k, v]) => [`ours_${k}`, v])),
    },
    machine: machine(),
  };
  if (QUICK) {
    console.log(JSON.stringify(config, null, 2));
    fma2.close();
    mul2.close();
    fma1.close();
    return;
  }
  writeRecord({
    name: 'gemm-sgemm',
    unit: 'GFLOP/s',
    ours: shapes[0].ours_gflops,
    baseline: shapes[0].numpy_gflops,
    baseline_impl: `numpy ${base.numpy} float32 a @ b (${base.blas}, default threads)`,
    ratio: shapes[0].ratio,
    config,
    notes:
      'ours = src/ops/wasm sgemm at n = 1024 (WebAssembly SIMD, 4×8 micro-kernel with k not unrolled, relaxed-SIMD FMA, ' +
      'A packed in 96 × 256 blocks, B in 256-row blocks, threads split the columns); config.shapes has the prefill / ' +
      'embedding shapes (mul_add_gflops: the portable kernels, timed interleaved with ours), config.variants_n1024 the ' +
      'mul + add and one-thread variants. Every kernel set is warmed to the optimised tier before timing. Limit: compute ' +
      '(128-bit SIMD is half of the AVX-512 width numpy uses).',
    ...load.mark,
  });
  writeRecord({
    name: 'gemm-decode-quant',
    unit: 'ms',
    ours: quant.q4_1.ms,
    baseline: base.matvec_ms,
    baseline_impl: `numpy ${base.numpy} float32 W @ x over the same ${layers.length} matrices`,
    ratio: base.matvec_ms / quant.q4_1.ms,
    config,
    notes:
      "ours = one decode step's linear layers of SmolLM2-135M with Q4_1 weights read as stored (src/ops/wasm linearQuant); " +
      'config.decode has bytes/s for float32, Q8_0 and Q4_1 (float activations; *_i16: the opt-in int16 activations) ' +
      'next to the read bandwidth of numpy summing 512 MB.',
    ...load.mark,
  });
  fma2.close();
  mul2.close();
  fma1.close();
}

void main();
