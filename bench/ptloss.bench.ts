/**
 * Benchmark `ptloss-proxy-search`: Algorithm 2 (N_M = 5 orders × N_k = 100 draws, N_v = 1,000
 * validation examples, C = 3) with our batched proxy solver, against scipy.optimize.fsolve solving
 * the same stationarity equations per example on the same inputs and coefficients, in the same run.
 * Run: npx tsx bench/ptloss.bench.ts   (under xvfb-run for the headless-gl backend)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableBackends, withBackend, type BackendName } from '../src/ops';
import {
  drawCoefficients,
  makeGaussianData,
  scoreCandidates,
  Rng,
  type Matrix64,
  type SearchResult,
} from '../src/methods/ptloss';
import { ROOT, writeRecord } from './lib';

const N_M = 5;
/** PTLOSS_BENCH_TRIALS overrides N_k for a quick smoke run (the committed result uses 100). */
const N_K = Number(process.env.PTLOSS_BENCH_TRIALS ?? 100);
const N_V = 1000;
const C = 3;
const BOX: [number, number] = [-1, 10];
const SEED = 2024;
const REPS = 3;

/** Validation teacher: a noisy, under-confident view of the exact posterior of the Gaussian mixture. */
function validationSet(): { teacher: Matrix64; labels: Int32Array } {
  const data = makeGaussianData(SEED, {
    classes: C,
    dim: 30,
    sigma: 2,
    points: 2 * N_V,
    split: [0.5, 0.25, 0.25],
  });
  const rng = new Rng(SEED + 1);
  const src = data.train;
  const t = new Float64Array(N_V * C);
  for (let i = 0; i < N_V; i++) {
    let s = 0;
    for (let j = 0; j < C; j++) {
      const v = Math.exp(0.5 * Math.log(src.pStar.data[i * C + j]) + 0.5 * rng.normal());
      t[i * C + j] = v;
      s += v;
    }
    for (let j = 0; j < C; j++) t[i * C + j] /= s;
  }
  return { teacher: { data: t, shape: [N_V, C] }, labels: src.y.slice(0, N_V) };
}

interface Timed {
  engine: string;
  /** Process CPU time of each warm run (the machine is shared: wall time includes waiting). */
  cpuMs: number[];
  coldMs: number;
  warmMs: number[];
  result: SearchResult;
}

function timeSearch(name: string, run: () => SearchResult): Timed {
  let t = performance.now();
  let result = run();
  const coldMs = performance.now() - t;
  const warmMs: number[] = [];
  const cpuMs: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const c0 = process.cpuUsage();
    t = performance.now();
    result = run();
    warmMs.push(performance.now() - t);
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
  }
  return { engine: name, cpuMs, coldMs, warmMs, result };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function main(): void {
  const loadStart = loadavg()[0];
  const { teacher, labels } = validationSet();
  const draws = drawCoefficients(C, N_M, N_K, BOX, SEED);
  const runs: Timed[] = [];
  runs.push(
    timeSearch('reference (plain TS, float64)', () =>
      withBackend('reference', () => scoreCandidates(teacher, labels, draws, { keepProxies: true })),
    ),
  );
  for (const b of availableBackends().filter((x) => x !== 'reference')) {
    runs.push(
      timeSearch(`fused proxySolve on ${b}${b === 'gl' ? ' (float32 + float64 polish)' : ''}`, () =>
        withBackend(b as BackendName, () => scoreCandidates(teacher, labels, draws, { keepProxies: true })),
      ),
    );
  }
  for (const r of runs) {
    console.log(
      `[ptloss] ${r.engine}: cold ${r.coldMs.toFixed(0)} ms, warm ${r.warmMs.map((x) => x.toFixed(0)).join(' / ')} ms (cpu ${r.cpuMs.map((x) => x.toFixed(0)).join(' / ')}), unsolved ${r.result.failures.length}, best trial ${r.result.best?.index}`,
    );
  }
  const fastest = runs.reduce((a, b) => (median(b.warmMs) < median(a.warmMs) ? b : a));

  // scipy: the same draws and teacher, one fsolve call per (trial, example).
  const dir = mkdtempSync(join(tmpdir(), 'ptloss-bench-'));
  const job = join(dir, 'job.json');
  const bin = join(dir, 'probs.bin');
  writeFileSync(
    job,
    JSON.stringify({
      teacher: Array.from({ length: N_V }, (_, i) => Array.from(teacher.data.subarray(i * C, (i + 1) * C))),
      coefficients: draws.map((e) =>
        Array.from({ length: C }, (_, c) =>
          Array.from({ length: N_M }, (_, m) => (m < e.order ? e.values[c * e.order + m] : 0)),
        ),
      ),
      labels: Array.from(labels),
    }),
  );
  console.log(`[ptloss] running scipy.optimize.fsolve on ${draws.length} × ${N_V} examples …`);
  const py = join(ROOT, '.venv', 'bin', 'python');
  const wall0 = performance.now();
  const summary = JSON.parse(
    execFileSync(py, [join(ROOT, 'bench', 'ptloss_fsolve.py'), job, bin], { maxBuffer: 1 << 26 }).toString(),
  ) as {
    seconds: number;
    quality_seconds: number;
    cpu_seconds?: number;
    unsolved: number;
    quality: number[];
    best: number | null;
  };
  // The baseline does what ours does: every proxy solve (fsolve) plus Q̂ of every trial and the best pick.
  const baselineMs = (summary.seconds + summary.quality_seconds) * 1000;
  const scipyWallMs = performance.now() - wall0;
  const raw = readFileSync(bin);
  const total = draws.length * N_V;
  const probs = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + total * C * 8));
  const ok = new Uint8Array(
    raw.buffer.slice(raw.byteOffset + total * C * 8, raw.byteOffset + total * C * 8 + total),
  );
  const scipyVersion = execFileSync(py, ['-c', 'import scipy; print(scipy.__version__)']).toString().trim();

  const diffs: Record<string, number> = {};
  let bothSolved = 0;
  for (const r of runs) {
    // Every engine returns the proxies of the last run; compare on examples both sides solved.
    const solve = r.result;
    let md = 0;
    let both = 0;
    const ours = ourProbs(solve, teacher, draws.length);
    for (let i = 0; i < total; i++) {
      if (!ok[i] || !ours.converged[i]) continue;
      both++;
      for (let j = 0; j < C; j++) md = Math.max(md, Math.abs(probs[i * C + j] - ours.probs[i * C + j]));
    }
    diffs[r.engine] = md;
    if (r === fastest) bothSolved = both;
  }
  let qDiff = 0;
  fastest.result.trace.forEach((t, i) => {
    // Q̂ is comparable only where both sides solved every example of the trial.
    let scipyAll = true;
    for (let e = 0; e < N_V; e++) if (!ok[i * N_V + e]) scipyAll = false;
    if (scipyAll && t.unsolved === 0) {
      qDiff = Math.max(qDiff, Math.abs(t.quality - summary.quality[i]));
    }
  });
  const ours = median(fastest.warmMs);
  writeRecord({
    name: 'ptloss-proxy-search',
    unit: 'ms',
    ours,
    baseline: baselineMs,
    baseline_impl: `scipy ${scipyVersion} optimize.fsolve per example (fprime = analytic Jacobian, x0 = teacher logits, defaults otherwise) + numpy Q̂ and best pick, both timed`,
    ratio: baselineMs / ours,
    config: {
      load_average_1m_at_start_and_end: [loadStart, loadavg()[0]],
      cpu_ms_of_fastest_warm_runs: fastest.cpuMs,
      N_M,
      N_k: N_K,
      N_v: N_V,
      C,
      box: BOX,
      seed: SEED,
      teacher:
        'softmax(0.5·log p*(x) + 0.5·N(0,1)) on a 30-dim, σ=2 Gaussian mixture; labels = sampled classes',
      engine: fastest.engine,
      ms_by_engine: Object.fromEntries(
        runs.map((r) => [
          r.engine,
          { cold: r.coldMs, warm_median: median(r.warmMs), warm: r.warmMs, warm_cpu: r.cpuMs },
        ]),
      ),
      max_abs_diff_by_engine: diffs,
      scipy_wall_ms_including_python_start: scipyWallMs,
      baseline_fsolve_ms: summary.seconds * 1000,
      baseline_quality_ms: summary.quality_seconds * 1000,
      scipy_cpu_ms: summary.cpu_seconds === undefined ? null : summary.cpu_seconds * 1000,
      cpu_speedup:
        summary.cpu_seconds === undefined ? null : (summary.cpu_seconds * 1000) / median(fastest.cpuMs),
      examples_compared: bothSolved,
      max_abs_quality_diff: qDiff,
      best_trial_ours: fastest.result.best?.index ?? null,
      best_trial_scipy: summary.best,
    },
    max_abs_diff: diffs[fastest.engine],
    failures_ours: fastest.result.failures.length,
    failures_scipy: summary.unsolved,
    target: { wall_ms: 2000, max_abs_diff: 1e-5 },
    notes:
      'ours = the fastest engine by median of 3 warm runs of the whole Algorithm 2 (500 proxy solves of 1,000 examples, Q̂ and best pick); ' +
      'baseline = fsolve loop + numpy Q̂ and best pick, timed inside Python on the same teacher and coefficient draws (Python start-up and file I/O excluded on both sides). ' +
      'max_abs_diff over examples both sides solved; failures = (trial, example) pairs left unsolved. ' +
      'The machine is shared: config also gives process CPU time of both sides and the load average. ' +
      'The kernel runs in float32 and is polished on the host by ≤ 3 float64 Newton steps. Timings on a shared 2-core machine.',
  } as Parameters<typeof writeRecord>[0]);
}

/** The proxies of a search run (kept in its trace) and which examples converged. */
function ourProbs(
  res: SearchResult,
  teacher: Matrix64,
  trials: number,
): { probs: Float64Array; converged: Uint8Array } {
  const n = teacher.shape[0];
  const probs = new Float64Array(trials * n * C);
  const converged = new Uint8Array(trials * n).fill(1);
  res.trace.forEach((t, i) => {
    if (!t.proxy) throw new Error('bench: proxies were not kept');
    probs.set(t.proxy, i * n * C);
  });
  for (const f of res.failures) converged[f.trial * n + f.example] = 0;
  return { probs, converged };
}

main();
