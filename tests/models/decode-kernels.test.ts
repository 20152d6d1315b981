/**
 * The decode path's kernels against the float64 references of the ops index, at decode shapes (one to
 * a few queries over held keys) with widths that exercise the SIMD kernels' scalar tails (D, d_c not
 * multiples of 4): wasm `attnRows` attention, folded attention (Eq. 5.9), 'half' RoPE, and the
 * quantized linear layer with int16 activations (bound derived from its rounding). Then the decoder's
 * own paths: FullKVCache.attend (keys read in place) equals read + attention, and the fused quantized
 * Q/K/V and gate/up groups give the same logits as the separate projections.
 *
 * Tolerances: float32 kernels against float64 references with reductions ≤ 64 long: |Δ| ≤ 2e-6 +
 * 2e-5·|ref| (the parity table's wasm tolerance). i16: per output Σ_blocks (s_b/2)·Σ_block |w| with
 * s_b = max|x_block| / 32767 (the rounding bound) plus the float32 tolerance.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Tensor,
  allocBytes,
  allocF32,
  applyRope,
  applyRopeReference,
  attention,
  attentionReference,
  dequantRow,
  foldedAttention,
  foldedAttentionReference,
  quantLinear,
  quantLinearReference,
  reconstructRope,
  reconstructRopeReference,
  ropeInvFreq,
  ropeTables,
  wasmArena,
  withBackend,
  type QuantMatrix,
} from '../../src/ops';
import { FullKVCache } from '../../src/models';
import { tinyLlama } from './tiny-model';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function rand(shape: number[], r: () => number, scale = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(
    Float32Array.from({ length: n }, () => scale * r()),
    shape,
  );
}

function assertNear(got: Tensor, ref: Tensor, what: string, atol = 2e-6, rtol = 2e-5): void {
  assert.deepEqual(got.shape, ref.shape, what);
  for (let i = 0; i < ref.size; i++) {
    const tol = atol + rtol * Math.abs(ref.data[i]);
    assert.ok(
      Math.abs(got.data[i] - ref.data[i]) <= tol,
      `${what}: index ${i} got ${got.data[i]}, expected ${ref.data[i]}`,
    );
  }
}

test('wasm attnRows attention: 1-3 causal queries over held keys, GQA, head widths with scalar tails', () => {
  const r = lcg(3);
  for (const [T, S, Hq, Hkv, D] of [
    [1, 37, 6, 2, 6],
    [3, 20, 4, 4, 8],
    [2, 129, 9, 3, 64],
  ]) {
    const q = rand([1, T, Hq, D], r, 2);
    const k = rand([1, S, Hkv, D], r, 2);
    const v = rand([1, S, Hkv, D], r);
    const opts = { causal: true, queryOffset: S - T };
    const got = withBackend('wasm', () => attention(q, k, v, opts));
    assertNear(got, attentionReference(q, k, v, opts), `attention T=${T} S=${S} D=${D}`);
  }
});

test('wasm folded attention (Eq. 5.9) at decode shapes, d_c with a scalar tail', () => {
  const r = lcg(5);
  for (const [T, S, Hq, Hkv, D, dc, hidden] of [
    [1, 33, 6, 2, 8, 5, 12],
    [2, 300, 9, 3, 64, 23, 40],
  ]) {
    const q = rand([1, T, Hq, D], r, 2);
    const keys = rand([1, S, Hkv, D], r, 2);
    const cv = rand([1, S, dc], r);
    const folded = rand([Hq * dc, hidden], r);
    const got = withBackend('wasm', () => foldedAttention(q, keys, cv, folded, S - T));
    assertNear(got, foldedAttentionReference(q, keys, cv, folded, S - T), `folded T=${T} dc=${dc}`);
  }
});

test("wasm RoPE ('half' pairing): head widths 10 and 64, several positions", () => {
  const r = lcg(9);
  for (const [T, H, D] of [
    [1, 3, 10],
    [5, 9, 64],
  ]) {
    const x = rand([T, H, D], r, 3);
    const tables = ropeTables(
      Array.from({ length: T }, (_, t) => 100 + 7 * t),
      ropeInvFreq(D, 10000),
    );
    const got = withBackend('wasm', () => applyRope(x, tables, 'half'));
    assertNear(got, applyRopeReference(x, tables, 'half'), `rope T=${T} D=${D}`);
  }
});

/** Random Q4_1 / Q8_0 blocks (finite f16 scales in [2^-8, 2^-4)) in the wasm arena. */
function randomQuant(type: 'q8_0' | 'q4_1', rows: number, cols: number, r: () => number): QuantMatrix {
  const bb = type === 'q8_0' ? 34 : 20;
  const n = (rows * cols) / 32;
  const data = allocBytes(n * bb);
  const half = (): number => (0x1c00 + Math.floor((r() + 0.5) * 0x800)) | (r() < 0 ? 0x8000 : 0);
  for (let b = 0; b < n; b++) {
    const p = b * bb;
    const d = half() & 0x7fff;
    data[p] = d & 255;
    data[p + 1] = d >> 8;
    const start = type === 'q4_1' ? 4 : 2;
    if (type === 'q4_1') {
      const m = half();
      data[p + 2] = m & 255;
      data[p + 3] = m >> 8;
    }
    for (let i = start; i < bb; i++) data[p + i] = Math.floor((r() + 0.5) * 256);
  }
  return { type, rows, cols, data };
}

test("quantLinear with activations 'i16': within the int16 rounding bound of the float64 reference; 'f32' stays exact", () => {
  const r = lcg(11);
  for (const type of ['q8_0', 'q4_1'] as const) {
    const [N, K] = [70, 96];
    const w = randomQuant(type, N, K, r);
    const x = rand([1, K], r, 4);
    const ref = quantLinearReference(x, w);
    const i16 = withBackend('wasm', () => quantLinear(x, w, undefined, 'test', { activations: 'i16' }));
    const f32 = withBackend('wasm', () => quantLinear(x, w, undefined, 'test'));
    assertNear(f32, ref, `${type} f32`);
    const row = new Float32Array(K);
    let worst = 0;
    for (let j = 0; j < N; j++) {
      dequantRow(w, j, row);
      let bound = 0;
      for (let b = 0; b < K / 32; b++) {
        let amax = 0;
        let wsum = 0;
        for (let i = 0; i < 32; i++) {
          amax = Math.max(amax, Math.abs(x.data[b * 32 + i]));
          wsum += Math.abs(row[b * 32 + i]);
        }
        bound += (amax / 32767 / 2) * wsum;
      }
      const err = Math.abs(i16.data[j] - ref.data[j]);
      worst = Math.max(worst, err / bound);
      assert.ok(
        err <= bound * 1.01 + 2e-6 + 2e-5 * Math.abs(ref.data[j]),
        `${type} row ${j}: ${err} > ${bound}`,
      );
    }
    // The rounding is real (the int16 path differs from f32) and well inside its bound.
    assert.ok(maxDiff(i16, f32) > 0, `${type}: i16 equals f32 exactly`);
    assert.ok(worst < 1, `${type}: worst error / bound = ${worst}`);
  }
});

function maxDiff(a: Tensor, b: Tensor): number {
  let m = 0;
  for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

test('FullKVCache.attend (held rows read in place) equals read + attention, prefill and decode', () => {
  const model = tinyLlama({ seed: 4 });
  const ids = [3, 9, 27, 1, 14, 33, 8];
  const a = model.createCache();
  const ra = model.forward(ids.slice(0, 5), a);
  // A cache without `attend`: the decoder reads copies and runs its own attention.
  const b = model.createCache();
  const plain = {
    numLayers: b.numLayers,
    length: (l: number) => b.length(l),
    append: b.append.bind(b),
    read: b.read.bind(b),
    bytes: () => b.bytes(),
    bytesByLayer: () => b.bytesByLayer(),
    clear: () => b.clear(),
  };
  const rb = model.forward(ids.slice(0, 5), plain);
  assertNear(ra.logits!, rb.logits!, 'prefill logits', 1e-6, 1e-5);
  for (const id of ids.slice(5)) {
    const da = model.forward([id], a);
    const db = model.forward([id], plain);
    assertNear(da.logits!, db.logits!, `decode logits after ${a.length(0)}`, 1e-6, 1e-5);
  }
  assert.ok(a instanceof FullKVCache);
  assert.throws(
    () =>
      a.append(0, {
        keysPreRope: new Tensor(new Float32Array(16), [1, 1, 2, 8]),
        values: new Tensor(new Float32Array(16).fill(NaN), [1, 1, 2, 8]),
        positions: [a.length(0)],
        hidden: new Tensor(new Float32Array(32), [1, 1, 32]),
      }),
    /non-finite/,
  );
});

test('reconstructRope into a given buffer (arena: written in place; plain: copied) equals the reference', () => {
  const r = lcg(13);
  const [B, S, dc, Hkv, D] = [1, 45, 7, 3, 10];
  const c = rand([B, S, dc], r);
  const basis = rand([Hkv * D, dc], r);
  const tables = ropeTables(
    Array.from({ length: S }, (_, i) => i),
    ropeInvFreq(D, 10000),
  );
  const ref = reconstructRopeReference(c, basis, tables, Hkv);
  for (const backend of ['wasm', 'js'] as const) {
    for (const out of [allocF32(B * S * Hkv * D + 5), new Float32Array(B * S * Hkv * D)]) {
      const got = withBackend(backend, () => reconstructRope(c, basis, tables, Hkv, 'half', { out }));
      assert.equal(got.data.buffer, out.buffer, `${backend}: the result is a view of out`);
      assertNear(got, ref, `${backend} reconstructRope into out`);
    }
  }
  assert.throws(
    () => reconstructRope(c, basis, tables, Hkv, 'half', { out: new Float32Array(10) }),
    /out has 10 elements/,
  );
});

test('FullKVCache: caches stay in ordinary memory unless reserved; reserve moves the held rows into the arena', () => {
  const model = tinyLlama({ seed: 6 });
  const held = (c: FullKVCache): Float32Array => (c as unknown as { keys: Float32Array[] }).keys[0];
  const prefillOnly = model.createCache();
  model.forward([1, 2, 3, 4], prefillOnly);
  assert.equal(wasmArena().owns(held(prefillOnly)), false, 'a prefill-only cache is not in the arena');
  model.forward([5], prefillOnly);
  assert.equal(wasmArena().owns(held(prefillOnly)), false, 'decoding without reserve stays out of the arena');
  const before = Array.from(held(prefillOnly).subarray(0, 5 * 16));
  prefillOnly.reserve(1, 12);
  assert.equal(wasmArena().owns(held(prefillOnly)), true, 'reserve moved it into the arena');
  assert.deepEqual(Array.from(held(prefillOnly).subarray(0, 5 * 16)), before, 'held rows kept');
  const r = model.forward([6], prefillOnly);
  assert.ok(r.logits && Number.isFinite(r.logits.data[0]));
  const reserved = model.createCache();
  reserved.reserve(1, 16);
  model.forward([1, 2, 3], reserved);
  assert.equal(wasmArena().owns(held(reserved)), true, 'a reserved cache is in the arena');
});
