/** Shared helpers for the PTLoss tests: random teachers/logits and the scipy fsolve reference. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Rng, type Coefficients, type Matrix64 } from '../../src/methods/ptloss';

export const ROOT = resolve(__dirname, '..', '..');
export const PYTHON = join(ROOT, '.venv', 'bin', 'python');

/** Random distributions (softmax of N(0, scale²) logits) as [n, c]. */
export function randomTeacher(rng: Rng, n: number, c: number, scale = 2): Matrix64 {
  const data = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) {
      data[i * c + j] = Math.exp(scale * rng.normal());
      s += data[i * c + j];
    }
    for (let j = 0; j < c; j++) data[i * c + j] /= s;
  }
  return { data, shape: [n, c] };
}

export function randomLogits(rng: Rng, n: number, c: number, scale = 1.5): Matrix64 {
  return { data: Float64Array.from({ length: n * c }, () => scale * rng.normal()), shape: [n, c] };
}

export function randomCoefficients(rng: Rng, c: number, m: number, lo = -1, hi = 10): Coefficients {
  return { classes: c, order: m, values: Float64Array.from({ length: c * m }, () => rng.uniform(lo, hi)) };
}

export interface FsolveResult {
  /** [T][N][C] */
  probs: number[][][];
  ok: number[][];
  seconds: number;
}

/** Solve the same stationarity equations with scipy.optimize.fsolve (bench/ptloss_fsolve.py). */
export function fsolveReference(teacher: Matrix64, eps: readonly Coefficients[]): FsolveResult {
  const [n, c] = teacher.shape;
  const order = Math.max(...eps.map((e) => e.order));
  const job = {
    teacher: Array.from({ length: n }, (_, i) => Array.from(teacher.data.subarray(i * c, (i + 1) * c))),
    coefficients: eps.map((e) =>
      Array.from({ length: c }, (_, cl) =>
        Array.from({ length: order }, (_, m) => (m < e.order ? e.values[cl * e.order + m] : 0)),
      ),
    ),
  };
  const dir = mkdtempSync(join(tmpdir(), 'ptloss-'));
  const file = join(dir, 'job.json');
  writeFileSync(file, JSON.stringify(job));
  const out = execFileSync(PYTHON, [join(ROOT, 'bench', 'ptloss_fsolve.py'), file], { maxBuffer: 1 << 28 });
  return JSON.parse(out.toString()) as FsolveResult;
}
