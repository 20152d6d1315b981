import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS, Tensor, withBackend } from '../../src/ops';
import {
  accuracy,
  bayesPosterior,
  distillTrainerLoss,
  lossGradient,
  makeGaussianData,
  pearson,
  predictProbs,
  Rng,
  trainStudent,
  type DistillLoss,
} from '../../src/methods/ptloss';
import { finiteDifferences, lossAndGrad, lossValue, Mlp } from '../../src/train';
import { randomCoefficients, randomTeacher } from './helpers';

function distillLosses(rng: Rng): DistillLoss[] {
  return [
    { kind: 'onehot' },
    { kind: 'kl' },
    { kind: 'temperature', tau: 2 },
    { kind: 'label-smoothing', delta: 0.1 },
    { kind: 'focal', gamma: 1.5 },
    { kind: 'ptloss', eps: randomCoefficients(rng, 3, 3) },
  ];
}

test('student network: every parameter gradient of every distillation loss matches central finite differences', () => {
  // float64 network (the trainer's reference precision), ReLU hidden layers with masks active.
  // Tolerance 1e-4 relative + 1e-9: float64 central differences with h = 1e-6 are good to ~1e-9.
  const rng = new Rng(95);
  const b = 6;
  const x = { data: Float64Array.from({ length: b * 4 }, () => rng.normal()), shape: [b, 4] as const };
  const teacher = randomTeacher(rng, b, 3);
  const labels = Int32Array.from({ length: b }, () => rng.int(3));
  for (const loss of distillLosses(rng)) {
    const model = new Mlp({ sizes: [4, 9, 7, 3], seed: 12, precision: 'float64' });
    const batch = { x, labels, targets: loss.kind === 'onehot' ? undefined : teacher };
    const tl = distillTrainerLoss(loss);
    const { grad } = lossAndGrad(model, batch, tl);
    const theta = model.getParams();
    const fd = finiteDifferences((t) => (model.params.set(t), lossValue(model, batch, tl)), theta, 1e-6);
    model.params.set(theta);
    for (let k = 0; k < grad.length; k++) {
      const err = Math.abs(grad[k] - fd[k]);
      assert.ok(
        err <= 1e-4 * Math.max(Math.abs(grad[k]), Math.abs(fd[k])) + 1e-9,
        `${loss.kind} θ[${k}]: ${grad[k]} vs FD ${fd[k]}`,
      );
    }
    // The trainer's batch loss is the mean of lossGradient's per-batch value.
    const z = model.forward(x);
    assert.ok(
      Math.abs(lossValue(model, batch, tl) - lossGradient(loss, z, teacher.data, labels).value) < 1e-12,
    );
  }
});

test('student training is reproducible from the seed and agrees across ops backends (one switch)', () => {
  const data = makeGaussianData(3, { classes: 3, dim: 10, sigma: 2, points: 300, split: [0.8, 0.1, 0.1] });
  const run = (): Float32Array =>
    trainStudent(
      { x: data.train.x, labels: data.train.y },
      { kind: 'onehot' },
      { epochs: 1, seed: 4, hidden: [16, 16] },
    ).model.params as Float32Array;
  const base = withBackend('cpu', run);
  assert.deepEqual(Array.from(withBackend('cpu', run)), Array.from(base), 'same seed, same parameters');
  for (const backend of BACKENDS) {
    // withBackend throws with the reason if a backend cannot start here: the test fails, it never skips.
    const p = withBackend(backend, run);
    let worst = 0;
    for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i] - base[i]));
    // 8 Adam steps of size ≤ 5e-4; float32 summation-order differences stay far below one step.
    assert.ok(worst < 1e-4, `${backend}: parameters differ from cpu by ${worst}`);
  }
});

test('loss gradients for every distillation loss match finite differences of their values', () => {
  const rng = new Rng(94);
  const b = 5;
  const t = randomTeacher(rng, b, 3);
  const labels = Int32Array.from({ length: b }, () => rng.int(3));
  const z = new Tensor(
    Float32Array.from({ length: b * 3 }, () => rng.normal()),
    [b, 3],
  );
  const losses = distillLosses(rng);
  for (const loss of losses) {
    const g = lossGradient(loss, z, t.data, labels).grad;
    for (let i = 0; i < b * 3; i++) {
      // float32 logits: a step of 1e-2 keeps the perturbation exact; central differences are O(h²) ≈ 1e-4 relative.
      const h = 1e-2;
      const zp = new Tensor(Float32Array.from(z.data), [b, 3]);
      const zm = new Tensor(Float32Array.from(z.data), [b, 3]);
      zp.data[i] += h;
      zm.data[i] -= h;
      const fd =
        (lossGradient(loss, zp, t.data, labels).value - lossGradient(loss, zm, t.data, labels).value) /
        (2 * h);
      assert.ok(Math.abs(fd - g[i]) < 2e-4, `${loss.kind} entry ${i}: ${fd} vs ${g[i]}`);
    }
  }
});

test('Gaussian mixture: exact posterior, split sizes, and a student that approaches the Bayes rate', () => {
  const data = makeGaussianData(7, { classes: 3, dim: 30, sigma: 2, points: 2000, split: [0.9, 0.05, 0.05] });
  assert.equal(data.train.y.length, 1800);
  assert.equal(data.val.y.length, 100);
  assert.equal(data.test.y.length, 100);
  for (const v of data.means.data) assert.ok(v === -1 || v === 0 || v === 1);
  // Posterior from its definition for one point.
  const x = data.test.x.data.subarray(0, 30);
  const logits = [0, 1, 2].map((k) => {
    let s = 0;
    for (let j = 0; j < 30; j++) s += (x[j] - data.means.data[k * 30 + j]) ** 2;
    return -s / 8;
  });
  const mx = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - mx));
  const z = e.reduce((a, v) => a + v, 0);
  e.forEach((v, k) => assert.ok(Math.abs(v / z - data.test.pStar.data[k]) < 1e-12));
  assert.ok(bayesPosterior(data.test.x, data.means, 2).data.every((v, i) => v === data.test.pStar.data[i]));
  const r = trainStudent(
    { x: data.train.x, labels: data.train.y },
    { kind: 'onehot' },
    { epochs: 3, seed: 1 },
  );
  const acc = accuracy(predictProbs(r.model, data.test.x), data.test.y);
  const bayes = accuracy(data.test.pStar, data.test.y);
  assert.ok(acc > bayes - 0.1, `student ${acc} vs Bayes ${bayes}`);
  // r = 4.5 / √(2 · 10.1667) for these hand-checked samples.
  assert.ok(Math.abs(pearson([1, 2, 3], [2, 4, 6.5]) - 4.5 / Math.sqrt(2 * 10.166666666666666)) < 1e-12);
});

test('early-stopped KD keeps the best validation epoch, not the last', () => {
  const data = makeGaussianData(8, { classes: 3, dim: 30, sigma: 2, points: 600, split: [0.8, 0.1, 0.1] });
  const teacher = data.train.pStar;
  const val = { x: data.val.x, labels: data.val.y };
  const r = trainStudent(
    { x: data.train.x, labels: data.train.y, teacher },
    { kind: 'eskd', patience: 2 },
    { epochs: 8, seed: 5, val },
  );
  // Seeded run: validation accuracy peaks at 0.900 in epoch 6, and epochs 7-8 fall back to 0.883.
  const acc = r.valAccuracy!;
  const best = Math.max(...acc);
  assert.equal(r.keptEpoch, acc.indexOf(best) + 1);
  assert.ok(
    acc[acc.length - 1] < best,
    `the last epoch (${acc[acc.length - 1]}) must be worse than the best (${best})`,
  );
  assert.ok(r.keptEpoch < r.losses.length);
  assert.equal(
    accuracy(predictProbs(r.model, val.x), val.labels),
    best,
    'the kept model scores the best epoch',
  );
  assert.throws(
    () =>
      trainStudent(
        { x: data.train.x, labels: data.train.y, teacher },
        { kind: 'eskd', patience: 1 },
        { epochs: 1, seed: 1 },
      ),
    /'eskd' needs a labelled validation set/,
  );
});
