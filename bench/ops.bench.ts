/**
 * Ops benchmarks: ops-matmul (n = 512, 1024), ops-attention (causal GQA, 9/3 heads, d 64, 512 tokens),
 * ops-cosine (7,600 × 384 against 100 × 384). Ours on every backend, the baseline in the same run.
 * Run: npx tsx bench/ops.bench.ts   (under xvfb-run for the GL backend; scripts/bench.sh does that)
 */
import * as o from '../src/ops';
import { lcgTensor } from '../tests/ops/helpers';
import { medianMs, pythonBaseline, writeRecord } from './lib';

interface Baseline {
  blas: string[];
  numpy: string;
  matmul: Record<string, number>;
  attention: { ms: number; impl: string };
  cosine: { ms: number; impl: string };
}

type Timings = Record<string, number>;

async function perBackend(fn: () => unknown, reps: number): Promise<Timings> {
  const out: Timings = {};
  for (const b of o.availableBackends()) {
    o.setBackend(b);
    out[b] = await medianMs(fn, reps);
  }
  o.setBackend('auto');
  return out;
}

function best(t: Timings): [string, number] {
  return Object.entries(t).reduce((a, b) => (b[1] < a[1] ? b : a));
}

async function main(): Promise<void> {
  const sizes = [512, 1024];
  const att = { T: 512, Hq: 9, Hkv: 3, D: 64 };
  const cos = { n: 7600, m: 100, d: 384 };
  const base = pythonBaseline<Baseline>('ops_baseline.py', {
    matmul: sizes,
    attention: att,
    cosine: cos,
    reps: 5,
  });

  // matmul: GFLOP/s at each size, every backend, sync and (webasm) threaded async.
  const matmulRows: Record<string, Record<string, number>> = {};
  let ours1024 = 0;
  let best1024 = '';
  for (const n of sizes) {
    const a = lcgTensor([n, n], 1);
    const b = lcgTensor([n, n], 2);
    const reps = n >= 1024 ? 2 : 3;
    const t = await perBackend(() => o.matmul(a, b), reps);
    o.setBackend('webasm');
    t['webasm-async'] = await medianMs(() => o.matmulAsync(a, b), reps);
    o.setBackend('auto');
    const flops = 2 * n ** 3;
    matmulRows[n] = Object.fromEntries(Object.entries(t).map(([k, ms]) => [k, flops / (ms * 1e6)]));
    matmulRows[n].numpy = flops / (base.matmul[n] * 1e6);
    if (n === 1024) [best1024, ours1024] = [best(t)[0], flops / (best(t)[1] * 1e6)];
  }
  writeRecord({
    name: 'ops-matmul',
    unit: 'GFLOP/s',
    ours: ours1024,
    baseline: matmulRows[1024].numpy,
    baseline_impl: `numpy ${base.numpy} float32 a @ b (${base.blas.join('; ')})`,
    ratio: ours1024 / matmulRows[1024].numpy,
    config: { sizes, dtype: 'float32', best_backend_n1024: best1024, gflops: matmulRows },
    notes:
      'ours = best backend at n = 1024; per-backend GFLOP/s for both sizes in config.gflops. Kernel: register-blocked ' +
      '(4 rows per thread, vec4 return). See bench/README.md for what was tried.',
  });

  // attention: ms for one causal GQA forward.
  const q = lcgTensor([1, att.T, att.Hq, att.D], 3);
  const k = lcgTensor([1, att.T, att.Hkv, att.D], 4);
  const v = lcgTensor([1, att.T, att.Hkv, att.D], 5);
  const ta = await perBackend(() => o.attention(q, k, v, { causal: true }), 3);
  const [ab, ams] = best(ta);
  writeRecord({
    name: 'ops-attention',
    unit: 'ms',
    ours: ams,
    baseline: base.attention.ms,
    baseline_impl: base.attention.impl,
    ratio: base.attention.ms / ams,
    config: { ...att, causal: true, best_backend: ab, ms_by_backend: ta },
    notes:
      'ours = best backend; three kernels (scores, row softmax, weighted values); ratio = baseline ms / ours ms.',
  });

  // cosine: ms for the full similarity matrix.
  const ca = lcgTensor([cos.n, cos.d], 6);
  const cb = lcgTensor([cos.m, cos.d], 7);
  const tc = await perBackend(() => o.cosineSimilarity(ca, cb), 3);
  const [cbk, cms] = best(tc);
  writeRecord({
    name: 'ops-cosine',
    unit: 'ms',
    ours: cms,
    baseline: base.cosine.ms,
    baseline_impl: base.cosine.impl,
    ratio: base.cosine.ms / cms,
    config: { ...cos, best_backend: cbk, ms_by_backend: tc },
    notes: 'ours = best backend; row norms kernel + similarity kernel; ratio = baseline ms / ours ms.',
  });
  o.disposeBackends();
}

void main();
