/**
 * The recycled output buffers (src/ops/buffers.ts): what is kept and what is not, and that every CPU
 * kernel that takes its output from the pool writes all of it — each op runs after the pool was filled
 * with NaN arrays of exactly its output length, and must still match the float64 reference within the
 * parity table's tolerances (tests/ops/helpers.ts TOLERANCE).
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as o from '../../src/ops';
import { assertClose, lcgTensor, quantMatrix } from './helpers';

afterEach(() => o.clearOutputPool());

/** A NaN-filled output of n floats as the kernels get them (a new buffer of n's size class). */
const nanTensor = (n: number): o.Tensor => new o.Tensor(o.outputBuffer(n).fill(NaN), [n]);

test('a recycled buffer is handed out again for the same length, once', () => {
  const t = o.Tensor.zeros([64, 32]);
  o.recycle(t, t); // twice: held once
  assert.equal(o.pooledOutputBytes(), 64 * 32 * 4);
  assert.equal(o.outputBuffer(64 * 32), t.data);
  assert.equal(o.pooledOutputBytes(), 0);
  assert.notEqual(o.outputBuffer(64 * 32), t.data);
});

test('lengths share a size class (at most 25 % larger): a recycled output serves a slightly shorter one', () => {
  assert.equal(o.sizeClass(4096), 4096);
  assert.equal(o.sizeClass(4097), 5120);
  assert.equal(o.sizeClass(5121), 6144);
  for (let n = 1024; n < 1 << 20; n = Math.ceil(n * 1.07)) {
    const c = o.sizeClass(n);
    assert.ok(c >= n && c <= 1.25 * n, `class ${c} of ${n}`);
    assert.equal(o.sizeClass(c), c);
  }
  const a = o.outputBuffer(4500); // a view of a 5,120-float buffer
  assert.equal(a.length, 4500);
  assert.equal(a.buffer.byteLength, 5120 * 4);
  o.recycle(new o.Tensor(a, [4500]));
  assert.equal(o.pooledOutputBytes(), 5120 * 4);
  const b = o.outputBuffer(4200);
  assert.equal(b.buffer, a.buffer);
  assert.equal(b.length, 4200);
  o.recycle(new o.Tensor(b.subarray(100), [4100])); // not from the buffer's start: ignored
  assert.equal(o.pooledOutputBytes(), 0);
});

test('views, small arrays and arrays in the wasm memory are never kept', () => {
  const big = new Float32Array(8192);
  o.recycle(new o.Tensor(big.subarray(0, 4096), [4096])); // a view into a larger buffer
  o.recycle(new o.Tensor(big.subarray(4096), [4096])); // a view at an offset
  o.recycle(o.Tensor.zeros([100])); // below the minimum length
  o.recycle(new o.Tensor(o.allocF32(4096), [4096])); // wasm memory
  o.recycle(undefined);
  assert.equal(o.pooledOutputBytes(), 0);
});

test('the pool holds at most MAX_POOLED_BYTES', () => {
  const n = 1 << 20; // 4 MiB each
  const many = Array.from({ length: Math.ceil(o.MAX_POOLED_BYTES / (4 * n)) + 3 }, () => o.Tensor.zeros([n]));
  o.recycle(...many);
  assert.ok(o.pooledOutputBytes() <= o.MAX_POOLED_BYTES);
  assert.ok(o.pooledOutputBytes() >= o.MAX_POOLED_BYTES - 4 * n);
  o.clearOutputPool();
  assert.equal(o.pooledOutputBytes(), 0);
});

const x = lcgTensor([40, 64], 1);
const y = lcgTensor([40, 64], 2);
const w = lcgTensor([96, 64], 3);
const bias = lcgTensor([96], 4);
const q = lcgTensor([1, 16, 4, 64], 5);
const k = lcgTensor([1, 16, 2, 64], 6);
const v = lcgTensor([1, 16, 2, 64], 7);
const norm = lcgTensor([64], 8);
const tables = o.ropeTables(
  Array.from({ length: 16 }, (_, i) => i + 3),
  o.ropeInvFreq(64, 10000),
);
const cases: { name: string; run: () => o.Tensor; factor?: number }[] = [
  { name: 'linear', run: () => o.linear(x, w), factor: 4 },
  { name: 'linear with bias', run: () => o.linear(x, w, bias), factor: 4 },
  { name: 'matmul', run: () => o.matmul(x, lcgTensor([64, 40], 9)), factor: 4 },
  { name: 'add', run: () => o.add(x, y) },
  { name: 'swiglu', run: () => o.swiglu(x, y) },
  { name: 'rmsNorm', run: () => o.rmsNorm(x, norm, 1e-5), factor: 4 },
  { name: 'rope', run: () => o.applyRope(q.reshape([16, 4, 64]), tables), factor: 4 },
  { name: 'attention (prefill, causal)', run: () => o.attention(q, k, v, { causal: true }), factor: 4 },
  {
    name: 'quantized linear q8_0 (prefill rows)',
    run: () => o.quantLinear(x, quantMatrix('q8_0', 96, 64, 11), bias),
    factor: 4,
  },
  {
    name: 'quantized linear q4_1 (prefill rows)',
    run: () => o.quantLinear(x, quantMatrix('q4_1', 96, 64, 12)),
    factor: 4,
  },
];

for (const backend of ['native', 'wasm', 'js'] as const) {
  describe(`${backend}: outputs drawn from a pool of NaN buffers are fully written`, () => {
    for (const c of cases) {
      test(c.name, () => {
        const why = o.backendUnavailableReason(backend);
        assert.equal(why, undefined, `backend ${backend} cannot start: ${why}`);
        const want = o.withBackend('reference', c.run);
        o.clearOutputPool();
        // Several per length: a kernel may take more than one (e.g. the copy out of the arena).
        o.recycle(...Array.from({ length: 8 }, () => nanTensor(want.size)));
        const before = o.pooledOutputBytes();
        const got = o.withBackend(backend, c.run);
        assertClose(got, want, backend, `${c.name} on ${backend} after poisoning the pool`, c.factor ?? 1);
        if (backend !== 'js' || c.name === 'add') {
          // The case reaches the pool (else it would prove nothing). The js backend's kernels allocate
          // their own outputs, but for the elementwise ones (the decoder's residual adds).
          assert.ok(o.pooledOutputBytes() < before, `${c.name} on ${backend} did not take a pooled buffer`);
        }
      });
    }
  });
}
