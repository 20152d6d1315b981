/**
 * Ops benchmarks through the public ops (the registry picks the kernel of each backend):
 *  - ops-matmul: `matmul(a, b)` GFLOP/s at n = 512 and 1024 against numpy's a @ b;
 *  - ops-attention: one causal GQA forward (9/3 heads, d 64, 512 tokens) against PyTorch SDPA;
 *  - ops-cosine: the 7,600 × 384 against 100 × 384 similarity matrix against numpy.
 * Each on every backend that starts here (gl, native, wasm, js; the record's `ours` is the fastest), the baseline
 * in the same run. GL results are read back to the host inside the timed region (`.data`), so a
 * resident texture cannot flatter GL. Also prints a resident GL chain (matmul → silu → softmax) against
 * the same chain read back after every op, which is what the GL residency buys on a real GPU.
 * Run: npx tsx bench/ops.bench.ts   (under xvfb-run for gl, or bench/device.sh on an NVIDIA machine)
 * Env: EFFLAB_BENCH_QUICK=1 small sizes, prints only; OPS_BENCH_BACKENDS=gl,wasm restricts the backends.
 * Threads: EFFLAB_THREADS (wasm pool and OpenBLAS alike; default the CPU count, at most 4).
 */
import * as o from '../src/ops';
import { lcgTensor } from '../tests/ops/helpers';
import { loadCheck, medianMs, pythonBaseline, writeRecord } from './lib';

const QUICK = process.env.EFFLAB_BENCH_QUICK === '1';

interface Baseline {
  blas: string[];
  numpy: string;
  matmul: Record<string, number>;
  attention: { ms: number; impl: string };
  cosine: { ms: number; impl: string };
}

type Timings = Record<string, number>;

function backends(): o.BackendName[] {
  const only = process.env.OPS_BENCH_BACKENDS?.split(',').map((s) => s.trim());
  return o.COMPUTE_BACKENDS.filter(
    (b) => (!only || only.includes(b)) && o.backendUnavailableReason(b) === undefined,
  );
}

/** Median ms of `fn` on each backend; the result's host data is touched so GL pays its read-back. */
async function perBackend(fn: () => o.Tensor, reps: number): Promise<Timings> {
  const out: Timings = {};
  for (const b of backends()) out[b] = await o.withBackend(b, () => medianMs(() => fn().data, reps));
  return out;
}

/**
 * The CPU GEMM engines on the shapes the models and methods run (y = x · Wᵀ, operands in the shared
 * wasm memory as model weights are): GFLOP/s of `sgemm` with native (OpenBLAS single-threaded, large
 * products split over the pool) and wasm selected, and of OpenBLAS's own threading (one call on
 * EFFLAB_THREADS OpenBLAS threads). wasm and native alternate over 5 rounds (same load), then OpenBLAS's own
 * threads run their 5 rounds; medians.
 */
function gemmPaths(): Record<string, Record<string, number>> {
  const shapes: [string, number, number, number][] = QUICK
    ? [['64×32×384', 64, 32, 384]]
    : [
        ['1×576×576 (decode, f32 weights)', 1, 576, 576],
        ['64×32×384 (DORM head)', 64, 32, 384],
        ['64×384×32', 64, 384, 32],
        ['128×576×576 (SmolLM2 prefill q/o)', 128, 576, 576],
        ['128×1536×576 (SmolLM2 prefill gate/up)', 128, 1536, 576],
        ['800×1536×384 (MiniLM FFN, 16 texts)', 800, 1536, 384],
        ['1024×1024×1024', 1024, 1024, 1024],
      ];
  const blas = o.nativeBlas();
  const out: Record<string, Record<string, number>> = {};
  for (const [label, M, N, K] of shapes) {
    const A = o.allocF32(M * K).map((_, i) => ((i * 7) % 13) / 13 - 0.5);
    const B = o.allocF32(N * K).map((_, i) => ((i * 5) % 11) / 11 - 0.5);
    const C = o.allocF32(M * N);
    const flops = 2 * M * N * K;
    const inner = Math.max(1, Math.round(2e8 / flops));
    const rate = (fn: () => void, threads = 1): number => {
      blas?.setThreads(threads);
      try {
        const t = performance.now();
        for (let i = 0; i < inner; i++) fn();
        return (flops * inner) / ((performance.now() - t) * 1e6);
      } finally {
        blas?.setThreads(1);
      }
    };
    const engines: Record<string, [() => void, number]> = {
      wasm: [() => o.withBackend('wasm', () => o.sgemm(false, true, M, N, K, A, B, C)), 1],
    };
    if (blas) {
      engines.native = [() => o.withBackend('native', () => o.sgemm(false, true, M, N, K, A, B, C)), 1];
      engines.openblas_own_threads = [
        () => blas.sgemm(101, 111, 112, M, N, K, 1, A, K, B, K, 0, C, N),
        o.threadCount(),
      ];
    }
    const samples: Record<string, number[]> = {};
    const rounds = QUICK ? 1 : 6;
    const measure = (names: string[]): void => {
      for (let round = 0; round < rounds; round++) {
        for (const name of names) {
          const [fn, threads] = engines[name];
          const r = rate(fn, threads);
          if (round > 0 || QUICK) (samples[name] ??= []).push(r);
        }
      }
    };
    // wasm and native alternate; OpenBLAS's own threads run after them, as their workers keep spinning
    // for a while after each call (≈ 2^28 cycles), then a pause lets them sleep before the next shape.
    measure(Object.keys(engines).filter((n) => n !== 'openblas_own_threads'));
    if (engines.openblas_own_threads) {
      measure(['openblas_own_threads']);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    }
    out[label] = Object.fromEntries(
      Object.entries(samples).map(([k, v]) => [k, [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]]),
    );
    console.log(
      `[ops] sgemm ${label}: ${JSON.stringify(out[label], (_, v: unknown) => (typeof v === 'number' ? +v.toFixed(1) : v))} GFLOP/s`,
    );
  }
  return out;
}

function best(t: Timings): [string, number] {
  return Object.entries(t).reduce((a, b) => (b[1] < a[1] ? b : a));
}

async function main(): Promise<void> {
  const load = loadCheck();
  const sizes = QUICK ? [64, 128] : [512, 1024];
  const att = QUICK ? { T: 32, Hq: 9, Hkv: 3, D: 64 } : { T: 512, Hq: 9, Hkv: 3, D: 64 };
  const cos = QUICK ? { n: 200, m: 10, d: 384 } : { n: 7600, m: 100, d: 384 };
  const base = pythonBaseline<Baseline>('ops_baseline.py', {
    matmul: sizes,
    attention: att,
    cosine: cos,
    reps: 5,
  });
  const common = {
    load_average_1m_before: load.load1,
    backends_available: o.availableBackends(),
    gl_renderer: o.glRenderer() ?? 'n/a',
    wasm_threads: o.wasmUnavailableReason() === undefined ? o.wasmThreads() : 0,
    native_blas: o.nativeBlas()?.config ?? `unavailable: ${o.nativeUnavailableReason()}`,
    native_threads: o.nativeBlas() && o.wasmUnavailableReason() === undefined ? o.wasmThreads() : 0,
  };
  const record = QUICK
    ? (r: Parameters<typeof writeRecord>[0]) => console.log(JSON.stringify(r))
    : writeRecord;

  const gemmShapes = gemmPaths();
  const gflops: Record<string, Record<string, number>> = {};
  const big = sizes[sizes.length - 1];
  let oursBig = 0;
  let bestBig = '';
  for (const n of sizes) {
    const a = lcgTensor([n, n], 1);
    const b = lcgTensor([n, n], 2);
    const t = await perBackend(() => o.matmul(a, b), n >= 1024 ? 3 : 5);
    const flops = 2 * n ** 3;
    gflops[n] = Object.fromEntries(Object.entries(t).map(([k, ms]) => [k, flops / (ms * 1e6)]));
    gflops[n].numpy = flops / (base.matmul[n] * 1e6);
    if (n === big) [bestBig, oursBig] = [best(t)[0], flops / (best(t)[1] * 1e6)];
  }
  record({
    name: 'ops-matmul',
    unit: 'GFLOP/s',
    ours: oursBig,
    baseline: gflops[big].numpy,
    baseline_impl: `numpy ${base.numpy} float32 a @ b (${base.blas.join('; ')})`,
    ratio: oursBig / gflops[big].numpy,
    config: { ...common, sizes, dtype: 'float32', best_backend: bestBig, gflops, gemm_shapes: gemmShapes },
    notes:
      `ours = the fastest backend through the public matmul at n = ${big} (result in host memory); per-backend ` +
      'GFLOP/s in config.gflops. native: OpenBLAS sgemm through koffi (src/ops/native); wasm: blocked SIMD ' +
      'sgemm on every core (src/ops/wasm); js: register-blocked ' +
      'loops; gl: one gpu.js thread per output cell. Compute-bound: see bench/README.md for the machine peak.',
    ...load.mark,
  });

  const q = lcgTensor([1, att.T, att.Hq, att.D], 3);
  const k = lcgTensor([1, att.T, att.Hkv, att.D], 4);
  const v = lcgTensor([1, att.T, att.Hkv, att.D], 5);
  const ta = await perBackend(() => o.attention(q, k, v, { causal: true }), 3);
  const [ab, ams] = best(ta);
  record({
    name: 'ops-attention',
    unit: 'ms',
    ours: ams,
    baseline: base.attention.ms,
    baseline_impl: base.attention.impl,
    ratio: base.attention.ms / ams,
    config: { ...common, ...att, causal: true, best_backend: ab, ms_by_backend: ta },
    notes:
      'ours = the fastest backend through the public attention; native and wasm: scores and outputs as two ' +
      'batched GEMMs per K/V head (OpenBLAS / SIMD) with a float64 masked softmax between (the causal half is computed and masked, as SDPA does); ' +
      'js: scalar loops over visible keys only; gl: four flat kernels. ratio = baseline ms / ours ms.',
    ...load.mark,
  });

  const ca = lcgTensor([cos.n, cos.d], 6);
  const cb = lcgTensor([cos.m, cos.d], 7);
  const tc = await perBackend(() => o.cosineSimilarity(ca, cb), 3);
  const [cbk, cms] = best(tc);
  record({
    name: 'ops-cosine',
    unit: 'ms',
    ours: cms,
    baseline: base.cosine.ms,
    baseline_impl: base.cosine.impl,
    ratio: base.cosine.ms / cms,
    config: { ...common, ...cos, best_backend: cbk, ms_by_backend: tc },
    notes:
      'ours = the fastest backend through the public cosineSimilarity; native and wasm: rows normalised in ' +
      'float64, then one GEMM (OpenBLAS / SIMD) against the transposed queries. Memory-bound on reading a (7,600 × 384 floats). ratio = baseline ms / ours ms.',
    ...load.mark,
  });

  if (backends().includes('gl')) {
    // GL residency: a chain of three ops read back once at the end, against a read-back after every op.
    const n = QUICK ? 64 : 512;
    const a = lcgTensor([n, n], 8);
    const b = lcgTensor([n, n], 9);
    const chain = (): o.Tensor => o.softmax(o.silu(o.matmul(a, b)));
    const resident = await o.withBackend('gl', () => medianMs(() => chain().data, 3));
    const hops = await o.withBackend('gl', () =>
      medianMs(() => {
        const h = o.matmul(a, b);
        void h.data;
        const s = o.silu(new o.Tensor(h.data, h.shape));
        void s.data;
        return o.softmax(new o.Tensor(s.data, s.shape)).data;
      }, 3),
    );
    console.log(
      `[ops] gl chain n=${n}: resident ${resident.toFixed(1)} ms, read back per op ${hops.toFixed(1)} ms`,
    );
  }
  o.disposeBackends();
}

void main();
