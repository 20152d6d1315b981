/**
 * Shared helpers for the ops tests: numpy fixtures (generated once per run by numpy_fixtures.py in the
 * venv, cached by the script's hash) and tolerance checks with per-backend tolerances.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import { QUANT_BLOCK_BYTES, Tensor, type BackendName, type QuantMatrix, type QuantType } from '../../src/ops';

const ROOT = path.resolve(__dirname, '..', '..');

export interface Encoded {
  shape: number[];
  data: number[];
}

export type Fixtures = Record<string, Record<string, unknown>>;

let cached: Fixtures | undefined;

/** numpy/scipy reference cases (see numpy_fixtures.py). */
export function fixtures(): Fixtures {
  if (cached) return cached;
  const script = path.join(__dirname, 'numpy_fixtures.py');
  const hash = createHash('sha256').update(fs.readFileSync(script)).digest('hex').slice(0, 12);
  const out = path.join(ROOT, 'test-artifacts', `ops-fixtures-${hash}.json`);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    execFileSync(path.join(ROOT, '.venv', 'bin', 'python'), [script, out], { stdio: 'inherit' });
  }
  cached = JSON.parse(fs.readFileSync(out, 'utf8')) as Fixtures;
  return cached;
}

/** Decode an encoded array from the fixtures into a Tensor. */
export function tensorOf(e: unknown): Tensor {
  const enc = e as Encoded;
  return new Tensor(Float32Array.from(enc.data), enc.shape);
}

/**
 * Per-backend tolerances, |ours − ref| ≤ atol + rtol·|ref|. All backends compute in float32
 * (ε ≈ 1.2e-7); errors grow with the reduction length (≤ 64 here) and with transcendental functions
 * (GL's exp/log/pow are implementation-defined to a few ulp; Mesa llvmpipe is close to IEEE).
 * js, wasm, native and reference: rtol 2e-5, atol 2e-6 (native: OpenBLAS sums K float32 products with
 * FMA in blocks, the same error class as the wasm kernels). gl: rtol 1e-4, atol 1e-5.
 */
export const TOLERANCE: Record<BackendName, { rtol: number; atol: number }> = {
  reference: { rtol: 2e-5, atol: 2e-6 },
  js: { rtol: 2e-5, atol: 2e-6 },
  wasm: { rtol: 2e-5, atol: 2e-6 },
  native: { rtol: 2e-5, atol: 2e-6 },
  gl: { rtol: 1e-4, atol: 1e-5 },
};

/** Assert two tensors agree elementwise within the backend's tolerance (scaled by `factor`). */
export function assertClose(
  actual: Tensor,
  expected: Tensor,
  backend: BackendName,
  what: string,
  factor = 1,
): void {
  assert.deepEqual([...actual.shape], [...expected.shape], `${what}: shape`);
  const { rtol, atol } = TOLERANCE[backend];
  let worst = 0;
  let worstIdx = -1;
  for (let i = 0; i < actual.size; i++) {
    const a = actual.data[i];
    const e = expected.data[i];
    const excess = a === e ? 0 : Math.abs(a - e) - factor * (atol + rtol * Math.abs(e));
    if (!(excess <= worst) || Number.isNaN(a)) {
      worst = Number.isNaN(a) ? Infinity : excess;
      worstIdx = i;
    }
  }
  assert.ok(
    worstIdx < 0,
    `${what} on ${backend}: index ${worstIdx}: got ${actual.data[worstIdx]}, expected ${expected.data[worstIdx]}`,
  );
}

/** A deterministic pseudo-random tensor (Park–Miller), independent of the ops' own generator. */
export function lcgTensor(shape: number[], seed: number, scale = 1): Tensor {
  let s = seed;
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 16807) % 2147483647;
    out[i] = ((s / 2147483647) * 2 - 1) * scale;
  }
  return new Tensor(out, shape);
}

/**
 * Quantized weights (GGUF Q8_0 / Q4_1 blocks) from a seeded generator, with every scale (and Q4_1
 * minimum) an f16 in [2^-8, 2^-6): finite and normal, sign from the random bits.
 */
export function quantMatrix(type: QuantType, rows: number, cols: number, seed: number): QuantMatrix {
  const bb = QUANT_BLOCK_BYTES[type];
  const data = new Uint8Array(rows * (cols / 32) * bb);
  let st = seed;
  for (let i = 0; i < data.length; i++) {
    st = (st * 16807) % 2147483647;
    data[i] = st & 255;
  }
  for (let b = 0; b < data.length; b += bb) {
    for (const off of type === 'q8_0' ? [0] : [0, 2]) data[b + off + 1] = (data[b + off + 1] & 0x83) | 0x1c;
  }
  return { type, rows, cols, data };
}
