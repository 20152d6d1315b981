/**
 * LowRankKVCache against an independent float64 layer reference: full rank reproduces the
 * uncompressed layer (fold and reconstruct paths), rank r reproduces the layer with W̃_k, W̃_v exactly,
 * incremental decode equals one causal pass, GQA heads are repeated, and bytes match the buffers held.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COMPUTE_BACKENDS,
  ShapeError,
  Tensor,
  attentionReference,
  backgroundBroken,
  backgroundIdle,
  backendUnavailableReason,
  withBackend,
  type BackendName,
} from '../../src/ops';
import { EfflabError, ValueError } from '../../src/errors';
import {
  analyse,
  buildCache,
  cacheBytesByLayer,
  customSchedule,
  LorcError,
  meanNll,
  reconstruct,
  type AttentionShape,
  type LowRankKVCache,
} from '../../src/methods/lorc';
import type { KVAttendResult } from '../../src/models/kv-cache';
import { assertRelClose, randn } from './helpers';
import { layerReference, project, queries, rope, synthLayer, type SynthLayer } from './layer-ref';

// float32 kernels (GL: a few ulp per op) against float64: errors stay ~1e-6 relative; 2e-4 leaves margin
// for softmax and two chained matmuls while still catching any wrong head, position or rank (≥1e-2).
const TOL = 2e-4;

/** Every compute backend; one that cannot start here fails the test with its reason (never skipped). */
function backends(): BackendName[] {
  for (const b of COMPUTE_BACKENDS) {
    const why = backendUnavailableReason(b);
    if (why) assert.fail(`backend ${b} cannot run here: ${why}`);
  }
  return [...COMPUTE_BACKENDS];
}

function shapeOf(L: SynthLayer): AttentionShape {
  return {
    numHeads: L.Hq,
    numKvHeads: L.Hkv,
    headDim: L.D,
    hidden: L.hidden,
    ropeStyle: L.style,
    invFreq: L.invFreq,
  };
}

function toHidden(r: KVAttendResult, L: SynthLayer): Float64Array {
  if (r.projected) return Float64Array.from(r.out.data);
  return project(r.out.reshape([-1, L.Hq * L.D]), L.wo);
}

function run(cache: LowRankKVCache, L: SynthLayer, x: Tensor, layer: number, steps: number[]): Float64Array {
  // Feed x [B, T, hidden] in chunks (prefill then decode steps), collecting the layer output.
  const [B, T] = x.shape;
  const out = new Float64Array(B * T * L.hidden);
  let start = 0;
  for (const n of steps) {
    const xs = new Float32Array(B * n * L.hidden);
    for (let b = 0; b < B; b++)
      xs.set(x.data.subarray((b * T + start) * L.hidden, (b * T + start + n) * L.hidden), b * n * L.hidden);
    const xt = new Tensor(xs, [B, n, L.hidden]);
    const positions = Array.from({ length: n }, (_, i) => start + i);
    cache.append(layer, {
      keysPreRope: new Tensor(Float32Array.from(project(xt, L.wk)), [B, n, L.Hkv, L.D]),
      values: new Tensor(Float32Array.from(project(xt, L.wv)), [B, n, L.Hkv, L.D]),
      positions,
      hidden: xt,
    });
    const qAt = queriesAt(L, xt, start);
    // Layers the cache has no special attention for (undefined) get the decoder's: attention over read().
    const kv = cache.read(layer);
    const r = cache.attend(layer, qAt, positions) ?? {
      out: attentionReference(qAt, kv.keys, kv.values, { causal: true, queryOffset: start }),
      projected: false,
    };
    const y = toHidden(r, L);
    for (let b = 0; b < B; b++)
      out.set(y.subarray(b * n * L.hidden, (b + 1) * n * L.hidden), (b * T + start) * L.hidden);
    start += n;
  }
  return out;
}

function queriesAt(L: SynthLayer, x: Tensor, start: number): Tensor {
  // Rotate queries at positions start..start+T-1 by padding the sequence on the left.
  const [B, T] = x.shape;
  const padded = new Float32Array(B * (start + T) * L.hidden);
  for (let b = 0; b < B; b++)
    padded.set(
      x.data.subarray(b * T * L.hidden, (b + 1) * T * L.hidden),
      (b * (start + T) + start) * L.hidden,
    );
  const q = queries(L, new Tensor(padded, [B, start + T, L.hidden]));
  const out = new Float32Array(B * T * L.Hq * L.D);
  const w = L.Hq * L.D;
  for (let b = 0; b < B; b++)
    out.set(q.data.subarray((b * (start + T) + start) * w, (b * (start + T) + start + T) * w), b * T * w);
  return new Tensor(out, [B, T, L.Hq, L.D]);
}

for (const style of ['half', 'interleaved'] as const) {
  test(`full rank (d_c = Hkv·D) reproduces the uncompressed layer: fold and reconstruct, ${style} RoPE, every backend`, () => {
    const L = synthLayer(100, style);
    const an = analyse(shapeOf(L), [{ wk: L.wk, wv: L.wv, wo: L.wo }]);
    const x = randn([2, 7, L.hidden], 7);
    const ref = layerReference(L, x, L.wk, L.wv);
    const full = customSchedule(1, an.dMax, new Map());
    for (const valueMode of ['fold', 'reconstruct'] as const) {
      for (const backend of backends()) {
        withBackend(backend, () => {
          const cache = buildCache(an, full, { valueMode, compressFullRank: true });
          assert.deepEqual(cache.ranks(0), { key: 16, value: 16 });
          assertRelClose(run(cache, L, x, 0, [7]), ref, TOL, `${valueMode} ${backend} prefill`);
          cache.clear();
          assertRelClose(
            run(cache, L, x, 0, [4, 1, 1, 1]),
            ref,
            TOL,
            `${valueMode} ${backend} prefill + decode`,
          );
        });
      }
    }
    // An uncompressed layer (null basis) is the standard cache.
    const plain = buildCache(an, full);
    assert.deepEqual(plain.ranks(0), { key: null, value: null });
    assertRelClose(run(plain, L, x, 0, [3, 2, 1, 1]), ref, TOL, 'uncompressed');
  });
}

test('rank r reproduces the layer computed with W̃_k, W̃_v (Eq. 5.5-5.9), and differs from the full layer', () => {
  const L = synthLayer(200);
  const an = analyse(shapeOf(L), [
    { wk: L.wk, wv: L.wv, wo: L.wo },
    { wk: L.wk, wv: L.wv, wo: L.wo },
  ]);
  const x = randn([1, 9, L.hidden], 9);
  const full = layerReference(L, x, L.wk, L.wv);
  for (const r of [3, 8, 12]) {
    const lowRef = layerReference(L, x, reconstruct(an.layers[1].key, r), reconstruct(an.layers[1].value, r));
    for (const valueMode of ['fold', 'reconstruct'] as const) {
      for (const backend of backends()) {
        withBackend(backend, () => {
          const cache = buildCache(an, customSchedule(2, an.dMax, new Map([[1, r]])), { valueMode });
          assert.deepEqual(cache.ranks(1), { key: r, value: r });
          assert.deepEqual(cache.ranks(0), { key: null, value: null });
          assertRelClose(
            run(cache, L, x, 1, [5, 1, 1, 1, 1]),
            lowRef,
            TOL,
            `rank ${r} ${valueMode} ${backend}`,
          );
        });
      }
    }
    // Keys only: W̃_k with the full W_v.
    const keysRef = layerReference(L, x, reconstruct(an.layers[1].key, r), L.wv);
    const kc = buildCache(an, customSchedule(2, an.dMax, new Map([[1, r]])), { compress: 'keys' });
    assert.deepEqual(kc.ranks(1), { key: r, value: null });
    assertRelClose(run(kc, L, x, 1, [6, 1, 1, 1]), keysRef, TOL, `rank ${r} keys only`);
    // Values only (folded): full W_k with W̃_v.
    const valuesRef = layerReference(L, x, L.wk, reconstruct(an.layers[1].value, r));
    const vc = buildCache(an, customSchedule(2, an.dMax, new Map([[1, r]])), { compress: 'values' });
    assert.deepEqual(vc.ranks(1), { key: null, value: r });
    assertRelClose(run(vc, L, x, 1, [6, 1, 1, 1]), valuesRef, TOL, `rank ${r} values only`);
    let diff = 0;
    for (let i = 0; i < full.length; i++) diff = Math.max(diff, Math.abs(full[i] - lowRef[i]));
    assert.ok(diff > 1e-3, `rank ${r} should change the output (max diff ${diff})`);
  }
});

test('read() returns rotated reconstructed keys and values; GQA layout [B, S, Hkv, D]', () => {
  const L = synthLayer(300);
  const an = analyse(shapeOf(L), [{ wk: L.wk, wv: L.wv, wo: L.wo }]);
  const x = randn([2, 4, L.hidden], 4);
  const cache = buildCache(an, customSchedule(1, an.dMax, new Map([[0, 16]])), { compressFullRank: true });
  run(cache, L, x, 0, [4]);
  const { keys, values } = cache.read(0);
  assert.deepEqual(keys.shape, [2, 4, 2, 8]);
  const layerK = project(x, L.wk);
  assertRelClose(values.data, Float32Array.from(project(x, L.wv)), 1e-4, 'values');
  // rotate the reference keys at positions 0..3
  assertRelClose(keys.data, rope(layerK, 2, 4, 2, 8, L.invFreq, L.style), 1e-4, 'keys');
});

test('bytes(): the buffers held, equal to Eq. 5.4 after reserve(b, N)', () => {
  const L = synthLayer(400);
  const w = { wk: L.wk, wv: L.wv, wo: L.wo };
  const an = analyse(shapeOf(L), [w, w, w]);
  const sched = customSchedule(
    3,
    an.dMax,
    new Map([
      [1, 10],
      [2, 4],
    ]),
  );
  const cache = buildCache(an, sched);
  const B = 2;
  const N = 6;
  cache.reserve(B, N);
  const x = randn([B, N, L.hidden], 1);
  for (let l = 0; l < 3; l++) run(cache, L, x, l, [3, 3]);
  const formula = cacheBytesByLayer(B, N, [16, 10, 4]);
  assert.deepEqual(cache.bytesByLayer(), formula);
  assert.equal(cache.bytes(), 2 * B * N * (16 + 10 + 4) * 4);
  // Without reserve the cache grows in chunks; bytes() still reports what is allocated (≥ formula).
  const grow = buildCache(an, sched);
  for (let l = 0; l < 3; l++) run(grow, L, x, l, [2, 2, 2]);
  grow
    .bytesByLayer()
    .forEach((b, l) => assert.ok(b >= formula[l] && b % (2 * B * 4) === 0, `layer ${l}: ${b}`));
  assert.ok(cache.auxiliaryBytes() > 0);
});

test('misuse is reported clearly', () => {
  const L = synthLayer(500);
  const an = analyse(shapeOf(L), [{ wk: L.wk, wv: L.wv, wo: L.wo }]);
  const cache = buildCache(an, customSchedule(1, an.dMax, new Map([[0, 4]])));
  const k = Tensor.zeros([1, 2, 2, 8]);
  const h = Tensor.zeros([1, 2, 48]);
  // One error class per fault (src/errors.ts): bad values are ValueError, operands that do not fit ShapeError.
  const is =
    (cls: new (...a: never[]) => Error, re: RegExp) =>
    (e: unknown): boolean =>
      e instanceof cls && e instanceof EfflabError && re.test((e as Error).message);
  assert.throws(
    () => cache.append(0, { keysPreRope: k, values: k, positions: [1, 2], hidden: h }),
    is(ValueError, /position 1 at step 0, expected 0/),
  );
  assert.throws(
    () =>
      cache.append(0, { keysPreRope: Tensor.zeros([1, 2, 3, 8]), values: k, positions: [0, 1], hidden: h }),
    is(ShapeError, /must both be \[B, T, 2, 8\]/),
  );
  cache.append(0, { keysPreRope: k, values: k, positions: [0, 1], hidden: h });
  assert.throws(
    () => cache.attend(0, Tensor.zeros([1, 1, 6, 8]), [2]),
    is(ValueError, /append before attend/),
  );
  assert.throws(
    () => cache.attend(0, Tensor.zeros([1, 1, 5, 8]), [1]),
    is(ShapeError, /must be \[1, T, 6, 8\]/),
  );
  assert.throws(() => cache.length(3), is(ValueError, /layer 3 outside 0..0/));
  assert.throws(
    () => buildCache(an, customSchedule(2, an.dMax, new Map())),
    is(ShapeError, /schedule has 2 layers, model has 1/),
  );
  assert.throws(() => cacheBytesByLayer(1, -1, [4]), is(ValueError, /positions = -1/));
  assert.throws(() => meanNll(Tensor.zeros([3, 5]), [1, 2]), is(ShapeError, /3 logit rows for 2 tokens/));
  // The deprecated LorcError still matches what replaced it, and constructs a ValueError.
  assert.ok(new ValueError('x') instanceof LorcError && new ShapeError('x') instanceof LorcError);
  assert.ok(new LorcError('x') instanceof ValueError);
  assert.ok(!(new Error('x') instanceof LorcError));
  assert.throws(
    () => analyse(shapeOf(L), [{ wk: L.wv, wv: L.wv, wo: L.wk }]),
    /layer 0 W_o has shape \[48, 16\], expected \[48, 48\]/,
  );
});

test('decode with keys rebuilt ahead on the background thread (native, reserved, batch 1) equals the layer reference', () => {
  // Three compressed layers decoded step by step as the decoder does (append + attend per layer, layer
  // after layer), so each attention call finds the rows of its held positions rebuilt by the thread
  // while the previous layer ran, including the wrap from the last layer to the first of the next step.
  const L = synthLayer(300);
  const w = { wk: L.wk, wv: L.wv, wo: L.wo };
  const an = analyse(shapeOf(L), [w, w, w]);
  const r = 6;
  const x = randn([1, 12, L.hidden], 12);
  const ref = layerReference(L, x, reconstruct(an.layers[0].key, r), reconstruct(an.layers[0].value, r));
  const sched = customSchedule(
    3,
    an.dMax,
    new Map([
      [0, r],
      [1, r],
      [2, r],
    ]),
  );
  withBackend('native', () => {
    const cache = buildCache(an, sched, { keysAhead: true });
    cache.reserve(1, 12);
    const outs = [0, 1, 2].map(() => new Float64Array(12 * L.hidden));
    const steps = [4, 1, 1, 1, 1, 1, 1, 1, 1];
    let start = 0;
    for (const n of steps) {
      const xt = new Tensor(x.data.slice(start * L.hidden, (start + n) * L.hidden), [1, n, L.hidden]);
      const positions = Array.from({ length: n }, (_, i) => start + i);
      for (let layer = 0; layer < 3; layer++) {
        cache.append(layer, {
          keysPreRope: new Tensor(Float32Array.from(project(xt, L.wk)), [1, n, L.Hkv, L.D]),
          values: new Tensor(Float32Array.from(project(xt, L.wv)), [1, n, L.Hkv, L.D]),
          positions,
          hidden: xt,
        });
        const res = cache.attend(layer, queriesAt(L, xt, start), positions);
        assert.ok(res?.projected, 'folded layers return the projected output');
        outs[layer].set(toHidden(res, L), start * L.hidden);
        // Pace the test so the thread has finished the posted rows before they are needed (the
        // decode loop does not wait: rows the thread has not started are rebuilt in place).
        const deadline = Date.now() + 10000;
        while (!backgroundIdle() && Date.now() < deadline)
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
      start += n;
    }
    outs.forEach((o, layer) => assertRelClose(o, ref, TOL, `layer ${layer} decoded with keys rebuilt ahead`));
    assert.equal(backgroundBroken(), false);
    // Every decode step (held lengths S = 5..12) of every layer took its S − 1 held rows from the thread.
    assert.equal(cache.rowsRebuiltAhead(), 3 * (4 + 5 + 6 + 7 + 8 + 9 + 10 + 11));
    assert.ok(cache.auxiliaryBytes() >= 2 * 12 * L.Hkv * L.D * 4, 'the two key buffers are reported apart');
  });
});
