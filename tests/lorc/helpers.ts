/** Helpers for the LoRC tests: seeded random tensors, numpy references, closeness checks. */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/ops';

const ROOT = path.resolve(__dirname, '..', '..');

/** A seeded standard-normal tensor (mulberry32 + Box–Muller), scaled. */
export function randn(shape: number[], seed: number, scale = 1): Tensor {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = shape.reduce((x, y) => x * y, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(next(), 1e-12);
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  }
  return new Tensor(out, shape);
}

/** Run a numpy snippet with JSON input on stdin (`inp`) that prints JSON; returns the parsed result. */
export function numpy<T>(code: string, input: unknown): T {
  const script = `import json, sys\nimport numpy as np\ninp = json.load(sys.stdin)\n${code}`;
  const out = execFileSync(path.join(ROOT, '.venv', 'bin', 'python'), ['-c', script], {
    input: JSON.stringify(input),
    maxBuffer: 1 << 28,
  });
  return JSON.parse(out.toString()) as T;
}

/** Max |a − b| / (max |b| + tiny): a scale-aware error for comparing whole tensors. */
export function relMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / (den + 1e-30);
}

export function assertRelClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  const e = relMaxError(a, b);
  assert.ok(e <= tol, `${what}: relative max error ${e.toExponential(3)} > ${tol}`);
}
