/**
 * The fit loop: early stopping restores the best validation epoch, patience, determinism from the
 * seed, fitAsync = fit, training actually learns, MC dropout is seeded and stochastic, bad input.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accuracy,
  fit,
  fitAsync,
  mcDropout,
  Mlp,
  pairwiseAccuracy,
  predictProbs,
  Rng,
  type Dataset,
} from '../../src/train';
import { randn } from './helpers';
import { NonFiniteError } from '../../src/errors';

/** Two Gaussian blobs in 4-d, labels 0/1. */
function blobs(seed: number, n: number): Dataset & { labels: Int32Array } {
  const rng = new Rng(seed);
  const x = randn(rng, n, 4);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = rng.int(2);
    x.data[i * 4] += labels[i] ? 1.5 : -1.5;
  }
  return { x, labels };
}

test('early stopping keeps the best validation epoch, not the last (scores 0.5, 0.9, 0.7, 0.6)', () => {
  const data = blobs(1, 64);
  const model = new Mlp({ sizes: [4, 8, 2], seed: 3 });
  const scores = [0.5, 0.9, 0.7, 0.6];
  const snapshots: Float32Array[] = [];
  const r = fit(
    model,
    data,
    { kind: 'cross-entropy' },
    {
      epochs: 4,
      seed: 5,
      batchSize: 16,
      optimizer: { kind: 'adam', lr: 0.05 },
      validate: () => scores[snapshots.length],
      onEpoch: (_info, m) => {
        snapshots.push(Float32Array.from(m.params));
      },
    },
  );
  assert.equal(r.keptEpoch, 2);
  assert.equal(r.bestEpoch, 2);
  assert.equal(r.bestScore, 0.9);
  assert.deepEqual(
    r.history.map((h) => h.best),
    [true, true, false, false],
  );
  assert.notDeepEqual(Array.from(snapshots[1]), Array.from(snapshots[3]), 'the epochs differ');
  assert.deepEqual(Array.from(model.params), Array.from(snapshots[1]), 'parameters are epoch 2’s');
});

test('early stopping on a real validation loss that gets worse: the restored model scores the best epoch’s value', () => {
  // 24 training points, 8 of them mislabelled, a wide net: validation loss falls, then overfitting raises it.
  const train = blobs(2, 24);
  for (let i = 0; i < 8; i++) train.labels[i] = 1 - train.labels[i];
  const val = blobs(3, 200);
  const model = new Mlp({ sizes: [4, 64, 64, 2], seed: 4 });
  const valLoss = (m: Mlp): number => {
    const p = predictProbs(m, val.x);
    let s = 0;
    for (let i = 0; i < val.labels.length; i++) s -= Math.log(p.data[i * 2 + val.labels[i]]);
    return s / val.labels.length;
  };
  const r = fit(
    model,
    train,
    { kind: 'cross-entropy' },
    {
      epochs: 40,
      seed: 1,
      batchSize: 8,
      optimizer: { kind: 'adam', lr: 0.001 },
      validate: valLoss,
      higherIsBetter: false,
    },
  );
  const last = r.history[r.history.length - 1].valScore!;
  assert.ok(
    last > r.bestScore + 0.05,
    `the last epoch (${last}) must be worse than the best (${r.bestScore})`,
  );
  // Seeded: the validation loss falls to 0.668 at epoch 14, then rises to 0.953 by epoch 40.
  assert.ok(r.keptEpoch > 1 && r.keptEpoch < r.history.length, `kept epoch ${r.keptEpoch}`);
  assert.ok(
    Math.abs(valLoss(model) - r.bestScore) < 1e-9,
    `restored model scores ${valLoss(model)}, best ${r.bestScore}`,
  );
});

test('patience stops training; restoreBest: false keeps the last epoch', () => {
  const data = blobs(1, 32);
  const scores = [0.6, 0.8, 0.7, 0.7, 0.9, 0.95];
  let k = 0;
  const model = new Mlp({ sizes: [4, 4, 2], seed: 1 });
  const r = fit(
    model,
    data,
    { kind: 'cross-entropy' },
    { epochs: 6, seed: 1, validate: () => scores[k++], patience: 2 },
  );
  assert.equal(r.history.length, 4, 'stops 2 epochs after the best (epoch 2)');
  assert.ok(r.stoppedEarly);
  assert.equal(r.keptEpoch, 2);
  let j = 0;
  const m2 = new Mlp({ sizes: [4, 4, 2], seed: 1 });
  const r2 = fit(
    m2,
    data,
    { kind: 'cross-entropy' },
    { epochs: 3, seed: 1, validate: () => [0.9, 0.1, 0.1][j++], restoreBest: false },
  );
  assert.equal(r2.keptEpoch, 3);
  const m3 = new Mlp({ sizes: [4, 4, 2], seed: 1 });
  const r3 = fit(m3, data, { kind: 'cross-entropy' }, { epochs: 5, seed: 1, onEpoch: (i) => i.epoch < 2 });
  assert.equal(r3.history.length, 2, 'onEpoch returning false stops');
});

test('training learns, is deterministic from the seed (with dropout), and fitAsync equals fit', async () => {
  const data = blobs(7, 256);
  const test_ = blobs(8, 256);
  const run = (seed: number): { model: Mlp; losses: number[] } => {
    const model = new Mlp({ sizes: [4, 16, 16, 2], seed: 2, dropout: 0.2 });
    const r = fit(
      model,
      data,
      { kind: 'cross-entropy' },
      { epochs: 5, seed, optimizer: { kind: 'adam', lr: 0.01 } },
    );
    return { model, losses: r.history.map((h) => h.trainLoss) };
  };
  const a = run(1);
  const b = run(1);
  const c = run(2);
  assert.deepEqual(Array.from(a.model.params), Array.from(b.model.params));
  assert.notDeepEqual(Array.from(a.model.params), Array.from(c.model.params));
  assert.ok(a.losses[4] < a.losses[0], `loss ${a.losses[0]} → ${a.losses[4]}`);
  assert.ok(accuracy(a.model, test_.x, test_.labels) > 0.85);
  const model = new Mlp({ sizes: [4, 16, 16, 2], seed: 2, dropout: 0.2 });
  let epochs = 0;
  await fitAsync(
    model,
    data,
    { kind: 'cross-entropy' },
    {
      epochs: 5,
      seed: 1,
      optimizer: { kind: 'adam', lr: 0.01 },
      onEpoch: async () => {
        epochs++;
      },
    },
  );
  assert.equal(epochs, 5);
  assert.deepEqual(Array.from(model.params), Array.from(a.model.params));
});

test('Bradley–Terry reward model learns a known reward; regression fits a linear target', () => {
  const rng = new Rng(9);
  const n = 400;
  const xc = randn(rng, n, 3);
  const xr = randn(rng, n, 3);
  // True reward r(x) = x0 − x1; the chosen row is the higher-reward one.
  for (let i = 0; i < n; i++) {
    const rc = xc.data[i * 3] - xc.data[i * 3 + 1];
    const rr = xr.data[i * 3] - xr.data[i * 3 + 1];
    if (rc < rr)
      for (let j = 0; j < 3; j++)
        [xc.data[i * 3 + j], xr.data[i * 3 + j]] = [xr.data[i * 3 + j], xc.data[i * 3 + j]];
  }
  const reward = new Mlp({ sizes: [3, 16, 1], seed: 1 });
  fit(
    reward,
    { x: xc, xRejected: xr },
    { kind: 'bradley-terry' },
    { epochs: 10, seed: 1, optimizer: { kind: 'adam', lr: 0.01 } },
  );
  assert.ok(pairwiseAccuracy(reward, xc, xr) > 0.95);
  const y = {
    data: Float64Array.from({ length: n }, (_, i) => 2 * xc.data[i * 3] - xc.data[i * 3 + 2]),
    shape: [n, 1] as const,
  };
  const reg = new Mlp({ sizes: [3, 1], seed: 1 });
  fit(
    reg,
    { x: xc, targets: y },
    { kind: 'squared-error' },
    { epochs: 30, seed: 1, optimizer: { kind: 'adam', lr: 0.05 } },
  );
  const w = reg.layers[0].W;
  assert.ok(
    Math.abs(w[0] - 2) < 0.02 && Math.abs(w[1]) < 0.02 && Math.abs(w[2] + 1) < 0.02,
    `W = ${Array.from(w)}`,
  );
});

test('MC dropout: seeded, stochastic across passes, eval mode is deterministic', () => {
  const rng = new Rng(3);
  const x = randn(rng, 50, 4);
  const model = new Mlp({ sizes: [4, 32, 1], seed: 1, dropout: 0.5 });
  const a = mcDropout(model, x, { passes: 8, seed: 11 });
  const b = mcDropout(model, x, { passes: 8, seed: 11 });
  const c = mcDropout(model, x, { passes: 8, seed: 12 });
  assert.deepEqual(a.shape, [8, 50, 1]);
  assert.deepEqual(Array.from(a.samples), Array.from(b.samples));
  assert.notDeepEqual(Array.from(a.samples), Array.from(c.samples));
  // Passes differ from each other and from eval mode; their mean approaches the eval output
  // (inverted dropout is unbiased for the last hidden layer's linear read-out).
  const evalOut = model.forward(x).data;
  assert.notDeepEqual(Array.from(a.samples.subarray(0, 50)), Array.from(a.samples.subarray(50, 100)));
  const many = mcDropout(model, x, { passes: 400, seed: 1 });
  let err = 0;
  for (let i = 0; i < 50; i++) {
    let m = 0;
    for (let k = 0; k < 400; k++) m += many.samples[k * 50 + i] / 400;
    err = Math.max(err, Math.abs(m - evalOut[i]));
  }
  assert.ok(err < 0.1, `MC mean vs eval output: ${err}`);
  assert.deepEqual(Array.from(model.forward(x).data), Array.from(evalOut));
  assert.throws(
    () => mcDropout(new Mlp({ sizes: [4, 2], seed: 1 }), x, { passes: 2, seed: 1 }),
    /no dropout/,
  );
});

test('MC dropout reuses the first layer across passes: bit for bit N forwards with their dropout keys', () => {
  const rng = new Rng(5);
  const x = randn(rng, 70, 6);
  for (const precision of ['float32', 'float64'] as const) {
    for (const sizes of [
      [6, 16, 1],
      [6, 12, 8, 3],
    ]) {
      const model = new Mlp({ sizes, seed: 2, dropout: 0.3, precision });
      for (const batchSize of [4096, 32]) {
        const passes = 5;
        const mc = mcDropout(model, x, { passes, seed: 9, batchSize });
        const chunks = Math.ceil(70 / batchSize);
        const out = sizes[sizes.length - 1];
        for (let k = 0; k < passes; k++) {
          const one = model.forward(x, { dropout: { seed: 9, stream: k * chunks }, batchSize }).data;
          assert.deepEqual(
            Array.from(mc.samples.subarray(k * 70 * out, (k + 1) * 70 * out)),
            Array.from(one),
            `${precision} ${sizes.join('-')} batch ${batchSize} pass ${k}`,
          );
        }
      }
    }
  }
});

test('MC dropout: a non-finite parameter is reported (first layer by the ops, later ones by the sample scan)', () => {
  const rng = new Rng(6);
  const x = randn(rng, 20, 4);
  for (const where of ['first', 'last'] as const) {
    const model = new Mlp({ sizes: [4, 8, 1], seed: 3, dropout: 0.2 });
    model.layers[where === 'first' ? 0 : 1].W[2] = NaN;
    assert.throws(
      () => mcDropout(model, x, { passes: 3, seed: 1 }),
      (e: Error) => e instanceof NonFiniteError && (where === 'first' || /mcDropout: pass 0/.test(e.message)),
    );
  }
});

test('bad input names the problem', () => {
  const model = new Mlp({ sizes: [4, 3, 2], seed: 1 });
  const data = blobs(1, 10);
  assert.throws(() => new Mlp({ sizes: [4], seed: 1 }), /at least two positive integers/);
  assert.throws(() => new Mlp({ sizes: [4, 2], seed: 1, dropout: 1 }), /dropout 1 must be in \[0, 1\)/);
  assert.throws(
    () => fit(model, { x: data.x }, { kind: 'cross-entropy' }, { epochs: 1, seed: 1 }),
    /needs labels/,
  );
  assert.throws(
    () =>
      fit(
        model,
        { x: { data: new Float64Array(10), shape: [2, 5] }, labels: [0, 1] },
        { kind: 'cross-entropy' },
        { epochs: 1, seed: 1 },
      ),
    /shape \[2, 5\].*expected \[rows, 4\]/,
  );
  assert.throws(
    () => fit(model, { ...data, labels: [0] }, { kind: 'cross-entropy' }, { epochs: 1, seed: 1 }),
    /labels has 1 rows but x has 10/,
  );
  assert.throws(
    () =>
      fit(
        model,
        { ...data, weights: new Float64Array(10).fill(NaN) },
        { kind: 'cross-entropy' },
        { epochs: 1, seed: 1 },
      ),
    /weight of example 0 is NaN/,
  );
  assert.throws(
    () =>
      fit(
        model,
        { x: data.x, labels: data.labels.map(() => 5) },
        { kind: 'cross-entropy' },
        { epochs: 1, seed: 1 },
      ),
    /label 5 of example 0/,
  );
  assert.throws(() => fit(model, data, { kind: 'bradley-terry' }, { epochs: 1, seed: 1 }), /needs xRejected/);
  assert.throws(
    () =>
      fit(
        model,
        { ...data, weights: new Float64Array(10) },
        { kind: 'cross-entropy' },
        { epochs: 1, seed: 1, reduction: 'normalised' },
      ),
    /Σw = 0/,
  );
  // A diverging run is stopped with the step and the advice, parameters untouched by the bad step.
  const big = {
    x: { data: Float64Array.from(data.x.data, (v) => v * 1e300), shape: data.x.shape },
    labels: data.labels,
  };
  assert.throws(
    () => fit(model, big, { kind: 'cross-entropy' }, { epochs: 1, seed: 1 }),
    /not finite|NaN|Infinity/,
  );
});
