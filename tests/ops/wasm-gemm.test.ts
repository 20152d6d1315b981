/**
 * The wasm backend's sgemm against a float64 reference: every transpose layout, odd sizes, batch
 * strides, alpha/beta, leading dimensions, in-place arena operands, both kernel variants (relaxed-SIMD
 * FMA and mul + add) on 1 and 2 threads; and the committed kernel text/bytes against their generator.
 *
 * Tolerance: the rigorous bound for float32 summation of K products (recursive or blocked, with or
 * without FMA), see gemm-check.ts.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { assemble, bytesModule, committedWat, VARIANTS } from '../../src/ops/wasm/build';
import { gemmWat } from '../../src/ops/wasm/gen-wat';
import * as bytesTs from '../../src/ops/wasm/kernels-bytes';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, rng } from './gemm-check';
import { withBackend } from '../../src/ops';
import {
  createKernels,
  relaxedSimdAvailable,
  sgemm,
  wasmThreads,
  wasmUnavailableReason,
  type WasmKernels,
} from '../../src/ops/wasm';
import { ShapeError, ValueError } from '../../src/errors';

const variants: WasmKernels[] = [];
after(() => variants.forEach((k) => k.close()));

test('the kernels run here, with relaxed-SIMD FMA and every core', () => {
  assert.equal(wasmUnavailableReason(), undefined);
  assert.equal(relaxedSimdAvailable(), true, 'Node ≥ 20 compiles relaxed SIMD once the V8 flag is set');
  assert.ok(wasmThreads() >= 1);
});

test('the committed .wat text and wasm bytes are what gen-wat.ts and build.ts produce', async () => {
  const bytes: Record<string, Uint8Array> = {};
  for (const v of VARIANTS) {
    const text = gemmWat(v.fma);
    assert.equal(committedWat(v.stem), text, `${v.stem}.wat is stale: run npx tsx src/ops/wasm/build.ts`);
    bytes[v.stem] = await assemble(`${v.stem}.wat`, text);
  }
  const committed = readFileSync(join(__dirname, '../../src/ops/wasm/kernels-bytes.ts'), 'utf8');
  assert.equal(committed, bytesModule(bytes), 'kernels-bytes.ts is stale: run npx tsx src/ops/wasm/build.ts');
  assert.ok(bytesTs.GEMM_WASM_BASE64.length > 0 && bytesTs.GEMM_FMA_WASM_BASE64.length > 0);
});

const LAYOUTS: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

for (const fma of [true, false]) {
  for (const threads of [1, 2]) {
    test(`sgemm (${fma ? 'FMA' : 'mul+add'}, ${threads} thread${threads > 1 ? 's' : ''}): every layout, odd sizes`, () => {
      const k = createKernels({ fma, threads, steal: false });
      variants.push(k);
      assert.equal(k.fma, fma);
      assert.equal(k.threads, threads);
      const r = rng(threads * 10 + (fma ? 1 : 0));
      const sizes: [number, number, number][] = [
        [1, 1, 1],
        [1, 3, 17],
        [3, 17, 1],
        [17, 3, 129],
        [5, 9, 64], // dot-product path (transB, M ≤ 8, K % 4 = 0)
        [3, 21, 12], // dot-product path: a group of 2 rows, then 1
        [7, 130, 256], // dot-product path: 4 + 2 + 1 rows, split over threads
        [1, 129, 260], // decode-shaped, K crosses a 256 block
        [129, 17, 3],
        [33, 70, 300], // ≥ 2^18 multiply-adds: split over threads, M > 16: packed B
        [8, 600, 64], // many columns, few rows: split N
        [200, 5, 300], // few columns: split M
        // prefill-sized: M crosses the 96-row A block and is no multiple of the 4-row tile, N no
        // multiple of the 8-column panel, K spans three 256-deep blocks (C accumulated across them)
        [130, 203, 600],
        // with B transposed: rows in groups of 4 + 2 + 1, columns in L2 blocks of 64 (K = 2048)
        [23, 150, 2048],
        // more rows than the dot-product path takes (256): the packed kernel, B transposed
        [300, 40, 64],
      ];
      for (const [tA, tB] of LAYOUTS)
        for (const [M, N, K] of sizes) check({ kernels: k }, { tA, tB, M, N, K }, r);
    });
  }
}

test('sgemm: batches with strides (incl. a shared operand), alpha/beta, leading dimensions, arena operands', () => {
  const r = rng(7);
  for (const threads of [1, 2]) {
    const k = createKernels({ threads, steal: threads === 1 });
    variants.push(k);
    for (const [tA, tB] of LAYOUTS) {
      check({ kernels: k }, { tA, tB, M: 7, N: 13, K: 19, batch: 3 }, r);
      // attention-like: batch of heads, enough work to split batches across threads
      check({ kernels: k }, { tA, tB, M: 40, N: 48, K: 32, batch: 6, alpha: 0.125 }, r);
      // one B for every product (weights shared across the batch)
      check({ kernels: k }, { tA, tB, M: 9, N: 20, K: 24, batch: 4, strideB: 0, beta: 1 }, r);
      // padded rows: lda/ldb/ldc larger than the stored column counts, padded batch strides
      const ld = { lda: (tA ? 30 : 24) + 3, ldb: (tB ? 24 : 30) + 5, ldc: 30 + 2 };
      check(
        k,
        { tA, tB, M: 30, N: 30, K: 24, batch: 2, ...ld, strideC: 30 * 32 + 7, alpha: -2, beta: 0.5 },
        r,
      );
      check({ kernels: k, threads }, { tA, tB, M: 64, N: 64, K: 96, alpha: 1.5, beta: -1 }, r, true);
    }
  }
});

test('sgemm: empty sizes, K = 0 (C = beta·C), beta = 0 ignores NaN in C', () =>
  withBackend('wasm', () => {
    const C = Float32Array.from([1, 2, 3, 4]);
    sgemm(false, false, 2, 2, 0, new Float32Array(0), new Float32Array(0), C, { beta: 3 });
    assert.deepEqual([...C], [3, 6, 9, 12]);
    sgemm(false, false, 0, 2, 5, new Float32Array(0), new Float32Array(10), new Float32Array(0));
    const D = Float32Array.from([NaN, NaN]);
    sgemm(false, false, 1, 2, 1, Float32Array.from([2]), Float32Array.from([3, 4]), D);
    assert.deepEqual([...D], [6, 8]);
  }));

test('sgemm: bad sizes and options raise ShapeError / ValueError naming the operand', () => {
  const z = (n: number): Float32Array => new Float32Array(n);
  assert.throws(() => sgemm(false, false, 2, 3, 4, z(7), z(12), z(6)), {
    name: 'ShapeError',
    message: /A has 7 elements, needs 8/,
  });
  assert.throws(() => sgemm(false, true, 2, 3, 4, z(8), z(11), z(6)), /B has 11 elements, needs 12/);
  assert.throws(() => sgemm(false, false, 2, 3, 4, z(8), z(12), z(5)), /C has 5 elements, needs 6/);
  assert.throws(() => sgemm(false, false, 2, 3, 4, z(8), z(12), z(6), { lda: 3 }), ShapeError);
  assert.throws(() => sgemm(false, false, -1, 3, 4, z(8), z(12), z(6)), /M = -1 is not a size/);
  assert.throws(() => sgemm(false, false, 2, 3, 4, z(8), z(12), z(6), { alpha: NaN }), ValueError);
});

test('a kernel that traps (here: an address past the memory) is a BackendError, on either thread', () => {
  const k = createKernels({ threads: 2, steal: false });
  variants.push(k);
  const bad = 0xffffff00;
  // dotNT args: A, lda, B, ldb, C, ldc, M, N, K, alpha, accumulate
  const job = (a: number): { name: 'dotNT'; args: number[] } => ({
    name: 'dotNT',
    args: [a, 16, 64, 16, 128, 16, 1, 1, 4, 1, 0],
  });
  assert.throws(() => k.pool.run([job(bad)]), { name: 'BackendError', message: /dotNT' trapped/ });
  assert.throws(() => k.pool.run([job(64), job(bad)]), {
    name: 'BackendError',
    message: /trapped in a helper thread/,
  });
  // the pool still works afterwards
  const C = new Float32Array(4);
  sgemm(false, false, 2, 2, 1, Float32Array.from([1, 2]), Float32Array.from([3, 4]), C, { kernels: k });
  assert.deepEqual([...C], [3, 4, 6, 8]);
});

test('operands beyond the 4 GiB wasm memory are a BackendError, and the arena stays usable', () => {
  const k = createKernels({ threads: 1 });
  variants.push(k);
  // 4 GiB of scratch on top of what the arena holds cannot fit a 32-bit memory.
  assert.throws(() => k.arena.scratch(2 ** 32), { name: 'BackendError', message: /cannot grow/ });
  const C = new Float32Array(1);
  sgemm(false, false, 1, 1, 1, Float32Array.from([2]), Float32Array.from([3]), C, { kernels: k });
  assert.equal(C[0], 6);
});
