/**
 * Quantized linear layers (GGUF Q8_0, Q4_1 blocks read as stored) against an independent reference:
 * the models' JS dequantizer (src/models/dequant.ts) then a float64 product.
 *
 * Tolerance: float32 rounding of the sums, bounded as for any float32 dot product of length K:
 * |ŷ − y| ≤ (K + 16) · 2⁻²⁴ · (Σ_k |w_jk x_k| + Σ_blocks |m_b| Σ|x|) (16 covers the per-block scale,
 * the block-sum split and the final horizontal sum); in practice ≈ 1e-6 relative.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { GGML_TYPE, dequantize } from '../../src/models/dequant';
import {
  allocBytes,
  createKernels,
  dequantizeQuant,
  dequantizeRows,
  linearQ4_1,
  linearQ8_0,
  linearQuant,
  type QuantMatrix,
  type QuantType,
  type WasmKernels,
} from '../../src/ops/wasm';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A random f16 bit pattern for a scale: mostly normal values of 2^-12..2^-2, sometimes subnormal. */
function f16Scale(r: () => number, signed: boolean): number {
  const sign = signed && r() < 0.5 ? 0x8000 : 0;
  if (r() < 0.05) return sign | Math.floor(r() * 1023 + 1); // subnormal
  return sign | ((3 + Math.floor(r() * 10)) << 10) | Math.floor(r() * 1024);
}

/** Random GGUF blocks of `type` for a rows × cols matrix, in plain or arena memory. */
function randomQuant(
  type: QuantType,
  rows: number,
  cols: number,
  r: () => number,
  arena: boolean,
): QuantMatrix {
  const bb = type === 'q8_0' ? 34 : 20;
  const n = (rows * cols) / 32;
  const data = arena ? allocBytes(n * bb) : new Uint8Array(n * bb);
  for (let b = 0; b < n; b++) {
    const p = b * bb;
    const d = f16Scale(r, false);
    data[p] = d & 255;
    data[p + 1] = d >> 8;
    if (type === 'q4_1') {
      const m = f16Scale(r, true);
      data[p + 2] = m & 255;
      data[p + 3] = m >> 8;
      for (let i = 4; i < 20; i++) data[p + i] = Math.floor(r() * 256);
    } else {
      for (let i = 2; i < 34; i++) data[p + i] = Math.floor(r() * 256);
    }
  }
  return { type, rows, cols, data };
}

function jsDequant(w: QuantMatrix): Float32Array {
  const out = new Float32Array(w.rows * w.cols);
  dequantize(w.type === 'q8_0' ? GGML_TYPE.Q8_0 : GGML_TYPE.Q4_1, w.data, out, 0, out.length, 'test');
  return out;
}

/** Σ|m_b| Σ_b|x| per row j (the Q4_1 offset term), for the bound. */
function offsetMass(w: QuantMatrix, x: Float32Array, m: number, j: number): number {
  if (w.type !== 'q4_1') return 0;
  const nb = w.cols / 32;
  let s = 0;
  for (let b = 0; b < nb; b++) {
    const p = (j * nb + b) * 20;
    const h = w.data[p + 2] | (w.data[p + 3] << 8);
    const mm =
      h & 0x7c00 ? 2 ** (((h >> 10) & 31) - 15) * (1 + (h & 1023) / 1024) : 2 ** -14 * ((h & 1023) / 1024);
    let xs = 0;
    for (let i = 0; i < 32; i++) xs += Math.abs(x[m * w.cols + b * 32 + i]);
    s += mm * xs;
  }
  return s;
}

function checkLinear(k: WasmKernels, w: QuantMatrix, rows: number, r: () => number, threads?: number): void {
  const K = w.cols;
  const x = Float32Array.from({ length: rows * K }, () => r() * 2 - 1);
  const wf = jsDequant(w);
  const fn = w.type === 'q8_0' ? linearQ8_0 : linearQ4_1;
  const y = fn(x, rows, w, { kernels: k, threads });
  assert.equal(y.length, rows * w.rows);
  for (let m = 0; m < rows; m++)
    for (let j = 0; j < w.rows; j++) {
      let s = 0;
      let sAbs = 0;
      for (let p = 0; p < K; p++) {
        s += wf[j * K + p] * x[m * K + p];
        sAbs += Math.abs(wf[j * K + p] * x[m * K + p]);
      }
      const bound = (K + 16) * 2 ** -24 * (sAbs + offsetMass(w, x, m, j)) + 1e-30;
      const err = Math.abs(y[m * w.rows + j] - s);
      assert.ok(
        err <= bound,
        `${w.type} ${rows}×${K}·${w.rows}ᵀ y[${m},${j}] = ${y[m * w.rows + j]}, want ${s} (±${bound})`,
      );
    }
}

const kernels: WasmKernels[] = [];
after(() => kernels.forEach((k) => k.close()));

test('wasm dequantization is bit-identical to the JS dequantizer (Q8_0, Q4_1, subnormal scales)', () => {
  const r = rng(1);
  for (const type of ['q8_0', 'q4_1'] as const) {
    const w = randomQuant(type, 37, 96, r, false);
    assert.deepEqual(dequantizeQuant(w), jsDequant(w));
    // a range of rows, from plain and from arena memory, into a given buffer
    const wa = { ...w, data: allocBytes(w.data.length) };
    wa.data.set(w.data);
    const out = new Float32Array(5 * 96);
    for (const m of [w, wa]) {
      assert.deepEqual(dequantizeRows(m, 30, 35, { out }), jsDequant(w).subarray(30 * 96, 35 * 96));
    }
    assert.throws(() => dequantizeRows(w, 30, 38), {
      name: 'ShapeError',
      message: /rows 30..38 outside 0..37/,
    });
  }
});

for (const fma of [true, false])
  for (const threads of [1, 2])
    test(`quantized linear (${fma ? 'FMA' : 'mul+add'}, ${threads} thread(s)) matches dequantize + float64 product`, () => {
      const k = createKernels({ fma, threads, steal: false });
      kernels.push(k);
      const r = rng(threads + (fma ? 10 : 20));
      for (const type of ['q8_0', 'q4_1'] as const)
        for (const arena of [false, true]) {
          // decode (1 row), a few rows (register kernel), 8+ rows (dequantize + GEMM); K = 576 / 1536 as SmolLM2
          for (const [rows, N, K] of [
            [1, 37, 32],
            [1, 300, 576],
            [3, 129, 64],
            [7, 64, 1536],
            [8, 65, 96],
            [33, 200, 576],
          ])
            checkLinear(k, randomQuant(type, N, K, r, arena), rows, r);
        }
    });

test('quantized linear: large enough to be split over threads and dequantized in several chunks', () => {
  const r = rng(5);
  const k = createKernels({ threads: 2, steal: false });
  kernels.push(k);
  // 2 MB chunks of f32 at K = 64 are 8,192 rows: 9,000 rows take two chunks.
  checkLinear(k, randomQuant('q4_1', 9000, 64, r, true), 9, r);
  checkLinear(k, randomQuant('q8_0', 2000, 128, r, true), 1, r);
});

test('quantized linear: bad shapes and types are ShapeError / ValueError', () => {
  const w = randomQuant('q8_0', 4, 64, rng(2), false);
  assert.throws(() => linearQ8_0(new Float32Array(63), 1, w), {
    name: 'ShapeError',
    message: /x has 63 elements/,
  });
  assert.throws(() => linearQ4_1(new Float32Array(64), 1, w), {
    name: 'ValueError',
    message: /weights are q8_0/,
  });
  assert.throws(
    () => linearQuant(new Float32Array(64), 1, { ...w, cols: 60 }),
    /whole rows of 32-weight blocks/,
  );
  assert.throws(() => linearQuant(new Float32Array(64), 1, { ...w, rows: 5 }), /needs 340 bytes, got 272/);
});

test("quantized linear with int16 activations ('i16'): within the float bound plus the rounding of x", () => {
  const r = rng(9);
  for (const threads of [1, 2]) {
    const k = createKernels({ threads, steal: false });
    kernels.push(k);
    for (const type of ['q8_0', 'q4_1'] as const)
      for (const [rows, N, K] of [
        [1, 37, 32],
        [1, 300, 576],
        [3, 129, 1536],
      ]) {
        const w = randomQuant(type, N, K, r, true);
        const x = Float32Array.from({ length: rows * K }, () => r() * 2 - 1);
        // a block of zeros and a block with one large value: scale 0 and a wide range
        x.fill(0, 0, 32);
        if (K >= 64) x[40] = 50;
        const wf = jsDequant(w);
        const y = linearQuant(x, rows, w, { kernels: k, activations: 'i16' });
        let worstRel = 0;
        for (let m = 0; m < rows; m++)
          for (let j = 0; j < N; j++) {
            let s = 0;
            let sAbs = 0;
            let xRound = 0;
            for (let b = 0; b < K / 32; b++) {
              let amax = 0;
              let wAbs = 0;
              for (let i = 0; i < 32; i++) {
                const p = b * 32 + i;
                amax = Math.max(amax, Math.abs(x[m * K + p]));
                wAbs += Math.abs(wf[j * K + p]);
                s += wf[j * K + p] * x[m * K + p];
                sAbs += Math.abs(wf[j * K + p] * x[m * K + p]);
              }
              xRound += (Math.fround(amax / 32767) / 2) * wAbs;
            }
            const bound = (K + 16) * 2 ** -24 * (sAbs + offsetMass(w, x, m, j)) + 1.001 * xRound + 1e-30;
            const err = Math.abs(y[m * N + j] - s);
            assert.ok(
              err <= bound,
              `i16 ${type} ${rows}×${K}·${N}ᵀ y[${m},${j}] = ${y[m * N + j]}, want ${s} (±${bound})`,
            );
            worstRel = Math.max(worstRel, err / (sAbs + 1e-30));
          }
        assert.ok(worstRel < 1e-4, `i16 ${type}: relative error ${worstRel}`);
      }
  }
  const w = randomQuant('q8_0', 4, 64, rng(3), false);
  assert.throws(
    () => linearQuant(new Float32Array(64), 1, w, { activations: 'f16' as 'f32' }),
    /activations 'f16'/,
  );
});
