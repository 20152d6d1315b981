/** Shared benchmark plumbing: timing, the venv's Python baselines, and the result-record writer. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
export const RESULTS = path.join(ROOT, 'bench', 'results');

/** One benchmark record, as DEVELOPERS.md specifies. */
export interface BenchRecord {
  name: string;
  unit: string;
  ours: number;
  baseline: number;
  baseline_impl: string;
  /** How many times better ours is than the baseline (>1: ours is better), in the unit's direction. */
  ratio: number;
  config: Record<string, unknown>;
  notes: string;
  /** "high" when the machine's load average exceeded LOAD_LIMIT before the run (see loadCheck). */
  load?: 'high';
  /**
   * Peers measured in the same run beside ours and the baseline (e.g. node-llama-cpp, transformers.js),
   * by name: their figures in the record's unit and whatever else says how they ran, or `error`.
   */
  peers?: Record<string, PeerFigures>;
}

/** One peer's figures in a record (extra to the schema's required fields). */
export type PeerFigures = Record<string, string | number | boolean | null | undefined>;

/** EFFLAB_BENCH_QUICK=1: a smoke run at tiny sizes; writeRecord prints the record and writes nothing. */
export const QUICK = process.env.EFFLAB_BENCH_QUICK === '1';
/** EFFLAB_BENCH_REFUSE_LOADED=1: writeRecord refuses (prints, does not write) a record marked "load": "high". */
export const REFUSE_LOADED = process.env.EFFLAB_BENCH_REFUSE_LOADED === '1';

/** Write bench/results/<name>.json and echo a one-line summary. */
export function writeRecord(rec: BenchRecord): void {
  const withMachine = { ...rec, config: { ...rec.config, machine: machine() } };
  const text = JSON.stringify(withMachine, null, 2) + '\n';
  if (QUICK || (REFUSE_LOADED && rec.load === 'high')) {
    console.log(text);
    console.log(
      `[bench] ${rec.name}: not written (${QUICK ? 'EFFLAB_BENCH_QUICK=1 smoke run' : 'load average above the limit'})`,
    );
  } else {
    fs.mkdirSync(RESULTS, { recursive: true });
    fs.writeFileSync(path.join(RESULTS, `${rec.name}.json`), text);
  }
  console.log(
    `[bench] ${rec.name}: ours ${fmt(rec.ours)} ${rec.unit}, ${rec.baseline_impl} ${fmt(rec.baseline)} ${rec.unit}, ratio ${fmt(rec.ratio)}`,
  );
}

function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(4);
}

/** A short description of the machine the numbers came from. */
export function machine(): string {
  return `${os.cpus().length}× ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`;
}

/** Median wall time in ms of `fn` over `reps` runs after `warmup` runs. */
export async function medianMs(fn: () => unknown, reps = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Run a Python baseline script from the venv with a JSON argument; it prints one JSON object. */
export function pythonBaseline<T>(script: string, arg: unknown, env: NodeJS.ProcessEnv = {}): T {
  const py = path.join(ROOT, '.venv', 'bin', 'python');
  const out = execFileSync(py, [path.join(ROOT, 'bench', 'baselines', script), JSON.stringify(arg)], {
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out.toString()) as T;
}

/** Issue 10: a record taken above this 1-minute load average is marked `"load": "high"`. */
export const LOAD_LIMIT = 1.5;

/**
 * The machine's 1-minute load average before a run and whether it is too high for a record: the
 * 2-core machine is shared, and numbers taken under load are not comparable (PyTorch/numpy threads
 * suffer more from contention than single-threaded code). Put `load1` in the record's config and
 * spread `mark` into the record.
 */
export function loadCheck(limit = LOAD_LIMIT): { load1: number; high: boolean; mark: { load?: 'high' } } {
  const load1 = os.loadavg()[0];
  const high = load1 > limit;
  if (high)
    console.warn(`[bench] load average ${load1.toFixed(2)} > ${limit}: the record is marked "load": "high"`);
  return { load1, high, mark: high ? { load: 'high' } : {} };
}

/**
 * Wait (up to `maxSeconds`, polling every 5 s) until the 1-minute load average is at most `limit`, so
 * the set-up a benchmark did itself (installs, a previous benchmark of the same run) has decayed out of
 * the figure before `loadCheck`; returns the seconds waited. A machine that stays loaded is not waited
 * for past `maxSeconds`: the record is then marked by `loadCheck`.
 */
export async function waitForQuiet(maxSeconds: number, limit = LOAD_LIMIT): Promise<number> {
  const t0 = performance.now();
  while (os.loadavg()[0] > limit && performance.now() - t0 < maxSeconds * 1000) {
    await new Promise((r) => setTimeout(r, 5000));
  }
  return (performance.now() - t0) / 1000;
}
