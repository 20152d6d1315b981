/**
 * `productInto` (the trainer's hot-loop product) against `product` (the ops `matmul`) on every backend:
 * where the selected backend is native or wasm it calls the ops GEMM entry `sgemm` directly, which is the
 * kernel `matmul` runs there, so the results must be bit-identical; elsewhere it is `matmul` itself.
 * Float64 uses the same reference loops. Also: the output buffer is reused and shapes are checked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { availableBackends, withBackend } from '../../src/ops';
import { product, productInto, Rng } from '../../src/train';

const rng = new Rng(3);
const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());

test('productInto equals product bit for bit on every backend, all transposes, into a reused buffer', () => {
  const backends = availableBackends().filter((b) => b !== 'gl');
  assert.ok(backends.includes('js'));
  for (const be of backends) {
    withBackend(be, () => {
      for (const [M, K, N] of [
        [37, 65, 13],
        [256, 385, 64],
        [3, 1, 5],
      ]) {
        for (const transA of [false, true])
          for (const transB of [false, true]) {
            const a = rand(M * K);
            const b = rand(K * N);
            const aShape: [number, number] = transA ? [K, M] : [M, K];
            const bShape: [number, number] = transB ? [N, K] : [K, N];
            const want = product(a, aShape, b, bShape, { transA, transB }, 'float32');
            const out = new Float32Array(M * N).fill(7);
            const got = productInto(a, aShape, b, bShape, { transA, transB }, 'float32', out);
            assert.equal(got, out, `${be}: the result is the given buffer`);
            assert.deepEqual(got, want, `${be} ${M}×${K}×${N} transA ${transA} transB ${transB}`);
            const w64 = product(
              Float64Array.from(a),
              aShape,
              Float64Array.from(b),
              bShape,
              { transA, transB },
              'float64',
            );
            const g64 = productInto(
              Float64Array.from(a),
              aShape,
              Float64Array.from(b),
              bShape,
              { transA, transB },
              'float64',
            );
            assert.deepEqual(g64, w64);
          }
      }
      assert.throws(
        () => productInto(rand(6), [2, 3], rand(8), [4, 2], {}, 'float32'),
        /do not fit/,
        `${be}: shape check`,
      );
    });
  }
});

test('productInto with a strided B block, a strided output block and accumulation, on every backend', () => {
  const backends = availableBackends().filter((b) => b !== 'gl');
  for (const be of backends) {
    withBackend(be, () => {
      for (const precision of ['float32', 'float64'] as const) {
        const [M, K, N, wide] = [9, 11, 4, 10];
        const mk = (n: number) => (precision === 'float32' ? rand(n) : Float64Array.from(rand(n)));
        const a = mk(K * M); // stored [K, M], used transposed
        const bWide = mk(K * wide); // B is columns 3 … 3+N of a [K, wide] matrix
        const bBlock = bWide.subarray(3);
        const bDense = precision === 'float32' ? new Float32Array(K * N) : new Float64Array(K * N);
        for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) bDense[k * N + j] = bWide[k * wide + 3 + j];
        const want = product(a, [K, M], bDense, [K, N], { transA: true }, precision);
        // Into columns 2 … 2+N of an [M, wide] output, added to what is there.
        const out = mk(M * wide);
        const before = Float64Array.from(out);
        productInto(
          a,
          [K, M],
          bBlock,
          [K, N],
          { transA: true, ldb: wide, ldc: wide, accumulate: true },
          precision,
          out.subarray(2),
        );
        const tol = precision === 'float32' ? 1e-5 : 1e-12;
        for (let i = 0; i < M; i++)
          for (let j = 0; j < wide; j++) {
            const inBlock = j >= 2 && j < 2 + N;
            const expect = before[i * wide + j] + (inBlock ? want[i * N + j - 2] : 0);
            assert.ok(
              Math.abs(out[i * wide + j] - expect) <= tol * (1 + Math.abs(expect)),
              `${be} ${precision} (${i}, ${j}): ${out[i * wide + j]} vs ${expect}`,
            );
          }
      }
    });
  }
  assert.throws(
    () => productInto(rand(6), [2, 3], rand(6), [3, 2], { ldc: 4 }, 'float32'),
    /needs an output buffer/,
  );
});
