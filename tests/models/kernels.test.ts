/**
 * The models compute through the ops index: one backend switch (`withBackend` / `setBackend` /
 * EFFLAB_BACKEND) decides where every op of a forward pass runs, and every backend gives the float64
 * reference's logits. Also the models' weight arena (the ops wasm arena, read in place by the kernels).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  COMPUTE_BACKENDS,
  FALLBACK,
  Tensor,
  linear,
  linearReference,
  wasmArena,
  backendUnavailableReason,
  traceBackends,
  withBackend,
  type BackendName,
} from '../../src/ops';
import { FullKVCache } from '../../src/models';
import {
  allocWeights,
  wasmLinearThreads,
  wasmLinearUnavailableReason,
  weightArena,
} from '../../src/models/wasm/linear-wasm';
import { threadCount } from '../../src/models/wasm/pool';
import { tinyLlama } from './tiny-model';

function maxAbs(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  let m = 0;
  for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

/** Every compute backend; one that cannot start here fails the test with its reason (never skipped). */
function backends(): BackendName[] {
  for (const b of COMPUTE_BACKENDS) {
    const why = backendUnavailableReason(b);
    if (why) assert.fail(`backend ${b} cannot run here: ${why}`);
  }
  return [...COMPUTE_BACKENDS];
}

test('one switch: every op of a decoder forward pass runs on the backend withBackend selects', () => {
  const m = tinyLlama();
  const ids = [3, 17, 5, 9];
  for (const b of [...backends(), 'reference' as const]) {
    const { calls } = traceBackends(() =>
      withBackend(b, () => {
        const cache = m.createCache();
        m.forward(ids, cache, { logits: 'all' });
        return m.forward([11], cache, { logits: 'last' }); // a decode step too
      }),
    );
    const ops = new Set(calls.map((c) => c.op));
    for (const op of ['linear', 'rmsNorm', 'rope', 'attention', 'swiglu', 'binary'] as const)
      assert.ok(ops.has(op), `${b}: the forward pass never called ${op} through the ops index`);
    for (const c of calls) {
      assert.equal(c.requested, b, `${c.op} was asked of ${c.requested}, not ${b}`);
      // The kernel that ran is the backend's own or one on its documented fallback chain.
      assert.ok(FALLBACK[b].includes(c.ran), `${c.op} ran on ${c.ran}, outside ${b}'s fallback chain`);
    }
  }
});

test('tiny model: logits on gl, wasm and js equal the float64 reference backend (prefill and decode)', () => {
  for (const tied of [true, false]) {
    const m = tinyLlama({ tied });
    const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const run = (b: BackendName): Tensor[] =>
      withBackend(b, () => {
        const cache = new FullKVCache(m.config.numLayers, m.rope);
        const pre = m.forward(ids, cache, { logits: 'all' }).logits as Tensor;
        const step = m.forward([12], cache, { logits: 'last' }).logits as Tensor;
        return [pre, step];
      });
    const [refPre, refStep] = run('reference');
    for (const b of backends()) {
      const [pre, step] = run(b);
      // float32 kernels (GL: a few ulp per op) against float64 through 2 layers, logits of size ~1:
      // observed ≤ 2e-6; 1e-4 leaves margin and still catches any wrong op (≥ 1e-2).
      assert.ok(maxAbs(pre, refPre) < 1e-4, `${b} prefill tied=${tied}: ${maxAbs(pre, refPre)}`);
      assert.ok(maxAbs(step, refStep) < 1e-4, `${b} decode tied=${tied}: ${maxAbs(step, refStep)}`);
    }
  }
});

test('the models multiply on the ops wasm kernels, reading weights in place from the ops arena', () => {
  // (The committed kernel bytes are checked against their generator in tests/ops/wasm-gemm.test.ts.)
  assert.equal(wasmLinearUnavailableReason(), undefined);
  assert.equal(wasmLinearThreads(), threadCount());
  const w = allocWeights(48 * 40);
  assert.ok(wasmArena().owns(w), 'model weights live in the ops arena');
  for (let i = 0; i < w.length; i++) w[i] = Math.sin(i);
  const W = new Tensor(w, [48, 40]);
  const x = new Tensor(
    Float32Array.from({ length: 9 * 40 }, (_, i) => Math.cos(i)),
    [9, 40],
  );
  const { value: y, calls } = traceBackends(() => withBackend('wasm', () => linear(x, W)));
  assert.deepEqual(
    calls.map((c) => c.ran),
    ['wasm'],
  );
  // K = 40 float32 products of |x| ≤ 1: |Δ| ≤ 40 · 2 · 6e-8 ≈ 5e-6 against the float64 reference.
  assert.ok(maxAbs(y, linearReference(x, W)) < 1e-5);
});

test('the weight arena reuses memory once views are released', () => {
  const arena = weightArena();
  assert.ok(arena);
  const a = allocWeights(1000);
  assert.ok(arena.owns(a));
  assert.ok(!arena.owns(new Float32Array(4)));
  a[999] = 5;
  assert.equal(a[999], 5);
  // Growth keeps earlier views valid (shared memory does not detach on grow).
  const big = allocWeights(8 << 20);
  big[0] = 1;
  assert.equal(a[999], 5);
});
