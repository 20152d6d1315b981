/**
 * The models' own kernels against float64 references: the WebAssembly SIMD and plain-TS linear
 * kernels, the contiguous-loop attention, and the committed wasm bytes against their WAT source.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '../../src/ops/tensor';
import { activationReference } from '../../src/ops/activations';
import { attentionReference } from '../../src/ops/attention';
import { binaryReference } from '../../src/ops/elementwise';
import { attentionFast, attentionGemm } from '../../src/models/attention-fast';
import { getEngine } from '../../src/models/engine';
import { linearJs, linearOps, linearReference } from '../../src/models/linear';
import {
  allocWeights,
  linearWasm,
  wasmLinearThreads,
  wasmLinearUnavailableReason,
  weightArena,
} from '../../src/models/wasm/linear-wasm';
import { threadCount } from '../../src/models/wasm/pool';
import { LINEAR_WASM_BASE64 } from '../../src/models/wasm/linear-wasm-bytes';
import { assembleLinearWat } from '../../src/models/wasm/build';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function rand(shape: number[], r: () => number, arena = false): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = arena ? allocWeights(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = r();
  return new Tensor(d, shape);
}

function maxRel(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  let m = 0;
  for (let i = 0; i < a.size; i++)
    m = Math.max(m, Math.abs(a.data[i] - b.data[i]) / (1 + Math.abs(b.data[i])));
  return m;
}

test('the wasm kernel runs here and the committed bytes are linear.wat assembled', async () => {
  assert.equal(wasmLinearUnavailableReason(), undefined);
  assert.equal(getEngine().name, 'wasm');
  assert.equal(wasmLinearThreads(), threadCount());
  const bytes = await assembleLinearWat();
  assert.equal(Buffer.from(bytes).toString('base64'), LINEAR_WASM_BASE64);
});

test('linear kernels (wasm, js, ops) match the float64 reference on odd shapes, with and without bias', () => {
  const r = rng(3);
  // float32 accumulation of K ≤ 1536 products of values in [-0.5, 0.5]: relative error ≲ 1e-5.
  for (const [M, K, N] of [
    [1, 576, 37],
    [4, 64, 9],
    [7, 132, 13],
    [9, 20, 3],
    [5, 6, 4], // K % 4 ≠ 0: wasm falls back to the TS kernel
    [130, 48, 17],
    [64, 576, 41], // ≥ 2^18 multiply-adds: split across the helper threads
    [1, 1536, 600],
  ]) {
    for (const arena of [true, false]) {
      const x = rand([M, K], r);
      const w = rand([N, K], r, arena);
      const b = rand([N], r, arena);
      const ref = linearReference(x, w, b);
      assert.ok(maxRel(linearWasm(x, w, b), ref) < 1e-5, `wasm ${M}x${K}x${N} arena=${arena}`);
      assert.ok(maxRel(linearWasm(x, w), linearReference(x, w)) < 1e-5, `wasm no bias ${M}x${K}x${N}`);
      assert.ok(maxRel(linearJs(x, w, b), ref) < 1e-5, `js ${M}x${K}x${N}`);
    }
  }
  const x = rand([3, 8], r);
  const w = rand([5, 8], r);
  assert.ok(maxRel(linearOps(x, w), linearReference(x, w)) < 1e-5, 'ops');
  assert.throws(
    () => linearWasm(rand([2, 7], r), rand([3, 8], r)),
    /input \[2, 7\] does not match weight \[3, 8\]/,
  );
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

test('attentionFast matches the ops reference: causal with offset, GQA, key mask', () => {
  const r = rng(11);
  const cases: [number[], number[], Parameters<typeof attentionFast>[3]][] = [
    [[1, 5, 6, 8], [1, 5, 2, 8], { causal: true }],
    [[1, 2, 6, 8], [1, 9, 3, 8], { causal: true, queryOffset: 7 }],
    [[2, 4, 4, 6], [2, 4, 4, 6], {}],
    [[1, 3, 2, 4], [1, 7, 1, 4], { causal: true, queryOffset: 2 }],
  ];
  for (const [qs, ks, opts] of cases) {
    const q = rand(qs, r);
    const k = rand(ks, r);
    const v = rand(ks, r);
    assert.ok(
      maxRel(attentionFast(q, k, v, opts), attentionReference(q, k, v, opts)) < 1e-6,
      JSON.stringify(qs),
    );
  }
  const q = rand([2, 3, 2, 4], r);
  const k = rand([2, 3, 2, 4], r);
  const v = rand([2, 3, 2, 4], r);
  const keyMask = new Tensor(Float32Array.from([1, 1, 0, 1, 0, 0]), [2, 3]);
  assert.ok(maxRel(attentionFast(q, k, v, { keyMask }), attentionReference(q, k, v, { keyMask })) < 1e-6);
  const gm = attentionGemm(q, k, v, { keyMask }, (x, w) => linearWasm(x, w));
  assert.ok(maxRel(gm, attentionReference(q, k, v, { keyMask })) < 1e-5);
  // Prefill-sized causal GQA, as the wasm engine runs it (T ≥ 8).
  const q2 = rand([1, 37, 6, 16], r);
  const k2 = rand([1, 37, 2, 16], r);
  const v2 = rand([1, 37, 2, 16], r);
  const e = getEngine('wasm').attention(q2, k2, v2, { causal: true });
  assert.ok(maxRel(e, attentionReference(q2, k2, v2, { causal: true })) < 1e-5);
  assert.throws(() => attentionFast(q, k, v, { causal: true, queryOffset: 2 }), /need keys beyond S = 3/);
});

test('engine SwiGLU and residual add match the ops references in every engine', () => {
  const r = rng(5);
  const g = rand([6, 10], r);
  const u = rand([6, 10], r);
  const ref = binaryReference('mul', activationReference('silu', g), u);
  for (const name of ['wasm', 'js', 'ops'] as const) {
    const e = getEngine(name);
    assert.ok(maxRel(e.swiglu(g, u), ref) < 1e-6, name);
    assert.ok(maxRel(e.add(g, u), binaryReference('add', g, u)) < 1e-6, name);
    // GELU: the engines' erf approximation is within 1.5e-7 of erf; x/2 · that error stays < 1e-6 here.
    const x = new Tensor(
      Float32Array.from({ length: 200 }, (_, i) => (i - 100) / 12),
      [200],
    );
    let m = 0;
    const got = e.gelu(x);
    const want = activationReference('gelu', x);
    for (let i = 0; i < 200; i++) m = Math.max(m, Math.abs(got.data[i] - want.data[i]));
    assert.ok(m < 1e-6, `${name} gelu ${m}`);
  }
  assert.throws(() => getEngine('js').swiglu(g, rand([6, 9], r)), /gate \[6, 10\] and up \[6, 9\] differ/);
});
