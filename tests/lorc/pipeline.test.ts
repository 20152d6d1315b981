/** LoRC in one call: `compress` equals the step-by-step pipeline, and its report matches numpy's SVD. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyse,
  buildCache,
  compress,
  layerSensitivity,
  modelAttention,
  progressiveSchedule,
  uniformSchedule,
} from '../../src/methods/lorc';
import { ConfigError, ValueError } from '../../src/errors';
import { tinyLlama } from '../models/tiny-model';
import { numpy } from './helpers';

const IDS = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 3];

function logits(
  model: ReturnType<typeof tinyLlama>,
  cache: Parameters<ReturnType<typeof tinyLlama>['forward']>[1],
): number[] {
  const out = model.forward(IDS, cache).logits;
  assert.ok(out, 'forward returned no logits');
  return Array.from(out.data);
}

test('compress(model, target) = modelAttention → analyse → progressiveSchedule → buildCache → layerSensitivity', () => {
  const model = tinyLlama();
  const one = compress({ model }, 0.4, { cache: { valueMode: 'reconstruct' } });
  const { shape, weights } = modelAttention(model);
  const an = analyse(shape, weights);
  const sched = progressiveSchedule(an.kappas, an.dMax, 0.4);
  assert.deepEqual(one.schedule, sched);
  assert.deepEqual(
    one.schedule.skipRule,
    { kind: 'normalised', above: 0.9 },
    'the schedule carries its skip rule',
  );
  assert.deepEqual(one.report, layerSensitivity(an, sched));
  assert.ok(one.schedule.achieved >= 0.4, `achieved ${one.schedule.achieved}`);
  // Same cache: identical logits for the same tokens (same decomposition, same ranks, same backend).
  const stepCache = buildCache(an, sched, { valueMode: 'reconstruct' });
  const a = logits(model, one.cache);
  assert.deepEqual(a, logits(model, stepCache));
  // newCache() is a fresh, empty cache with the same schedule.
  const fresh = one.newCache();
  assert.equal(fresh.length(0), 0);
  assert.deepEqual(logits(model, fresh), a);
});

test('compress reuses an analysis, builds the uniform baseline, and its report matches numpy (κ = σ_max/σ_min)', () => {
  const model = tinyLlama({ seed: 11 });
  const first = compress(model, 0.25, {});
  const uni = compress(first.analysis, 0.5, {
    schedule: 'uniform',
    skip: { kind: 'none' },
  });
  assert.deepEqual(
    uni.schedule,
    uniformSchedule(first.analysis.kappas, first.analysis.dMax, 0.5, { kind: 'none' }),
  );
  assert.equal(uni.report.skipRule, 'no layer skipped');
  // Independent reference: numpy's singular values of each layer's W_k and W_v (float32 weights, so the
  // relative tolerance is 1e-4: float32 inputs, float64 SVDs on both sides).
  const { weights } = modelAttention(model);
  const ref = numpy<{ k: number[][]; v: number[][] }>(
    `out = {'k': [], 'v': []}
for w in inp:
    for key in ('k', 'v'):
        a = np.array(w[key], dtype=np.float64).reshape(w['shape'])
        out[key].append(np.linalg.svd(a, compute_uv=False).tolist())
print(json.dumps(out))`,
    weights.map((w) => ({ k: Array.from(w.wk.data), v: Array.from(w.wv.data), shape: w.wk.shape })),
  );
  uni.report.layers.forEach((row, l) => {
    const sk = ref.k[l];
    const sv = ref.v[l];
    assert.ok(
      Math.abs(row.kappaK / (sk[0] / sk[sk.length - 1]) - 1) < 1e-4,
      `layer ${l} κ(W_k) ${row.kappaK}`,
    );
    assert.ok(
      Math.abs(row.kappaV / (sv[0] / sv[sv.length - 1]) - 1) < 1e-4,
      `layer ${l} κ(W_v) ${row.kappaV}`,
    );
    row.spectrumK?.forEach((s, i) =>
      assert.ok(Math.abs(s - sk[i]) <= 1e-4 * sk[0], `σ_${i}(W_k) layer ${l}`),
    );
    assert.equal(row.spectrumV?.length, sv.length);
  });
});

test('compress: bad arguments give the project errors', () => {
  const model = tinyLlama();
  assert.throws(() => compress(model, 1.5), /target 1.5 must be a compression ratio in \[0, 1\)/);
  assert.throws(() => compress(model, 1.5), ValueError);
  assert.throws(() => compress({} as never, 0.5), /expected a causal LM/);
  assert.throws(() => compress(model, 0.5, { schedule: 'steep' as never }), ConfigError);
  assert.throws(
    () => compress(model, 0.5, { schedule: 'uniform', minRank: 2 }),
    /minRank applies to the progressive/,
  );
  const an = compress(model, 0.2).analysis;
  assert.throws(() => compress(an, 0.5, { cacheDir: '/tmp' }), ConfigError);
});

test('analyse/compress report progress per layer while decomposing (not when read from the cache)', () => {
  const model = tinyLlama();
  const calls: [number, number][] = [];
  compress(model, 0.4, { onProgress: (done, total) => calls.push([done, total]) });
  assert.deepEqual(calls, [
    [1, 2],
    [2, 2],
  ]);
  const { shape, weights } = modelAttention(model);
  const an = analyse(shape, weights);
  const again: number[] = [];
  compress(an, 0.4, { onProgress: (d) => again.push(d) });
  assert.deepEqual(again, [], 'an existing analysis runs no SVD');
});
