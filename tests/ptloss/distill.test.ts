import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matmulReference, Tensor } from '../../src/ops';
import {
  accuracy,
  bayesPosterior,
  gemmFast,
  lossGradient,
  makeGaussianData,
  Mlp,
  pearson,
  predictProbs,
  Rng,
  trainStudent,
  type DistillLoss,
} from '../../src/methods/ptloss';
import { randomCoefficients, randomTeacher } from './helpers';

function randomTensor(rng: Rng, shape: [number, number]): Tensor {
  return new Tensor(
    Float32Array.from({ length: shape[0] * shape[1] }, () => rng.normal()),
    shape,
  );
}

test('gemmFast matches the ops matmulReference for plain, transA and transB products', () => {
  const rng = new Rng(91);
  const a = randomTensor(rng, [7, 5]);
  const b = randomTensor(rng, [5, 6]);
  const c = randomTensor(rng, [7, 6]);
  const d = randomTensor(rng, [6, 5]);
  const pairs: [Tensor, Tensor][] = [
    [gemmFast(a, b), matmulReference(a, b)],
    [gemmFast(a, c, { transA: true }), matmulReference(a, c, { transA: true })],
    [gemmFast(a, d, { transB: true }), matmulReference(a, d, { transB: true })],
  ];
  for (const [x, y] of pairs) {
    assert.deepEqual(x.shape, y.shape);
    for (let i = 0; i < x.data.length; i++) assert.ok(Math.abs(x.data[i] - y.data[i]) < 1e-5);
  }
  assert.throws(() => gemmFast(a, a), /inner dimensions differ \(5 vs 7\)/);
});

test('MLP training steps agree across matmul engines and are reproducible from the seed', () => {
  const rng = new Rng(92);
  const x = randomTensor(rng, [16, 6]);
  const grads = Float64Array.from({ length: 16 * 3 }, () => 0.01 * rng.normal());
  const run = (engine: 'fast' | 'reference' | 'kernels'): Float32Array => {
    const m = new Mlp([6, 8, 8, 3], 5, engine);
    for (let i = 0; i < 3; i++) m.trainStep(x, () => grads);
    return m.forward(x).data;
  };
  const fast = run('fast');
  const ref = run('reference');
  const kern = run('kernels');
  for (let i = 0; i < fast.length; i++) {
    assert.ok(Math.abs(fast[i] - ref[i]) < 1e-4, 'fast vs reference');
    assert.ok(Math.abs(fast[i] - kern[i]) < 1e-3, 'fast vs kernels');
  }
  assert.deepEqual(Array.from(run('fast')), Array.from(fast));
});

test('MLP backward pass: weight update direction matches a finite-difference loss decrease', () => {
  // A tiny step of plain gradient descent (Adam's first step is sign-like) must lower the loss.
  const rng = new Rng(93);
  const x = randomTensor(rng, [8, 4]);
  const labels = Int32Array.from({ length: 8 }, () => rng.int(3));
  const m = new Mlp([4, 5, 3], 3, 'fast');
  const lossOf = (): number => {
    const z = m.forward(x);
    return lossGradient({ kind: 'onehot' }, z, undefined, labels).value;
  };
  const before = lossOf();
  m.trainStep(x, (z) => lossGradient({ kind: 'onehot' }, z, undefined, labels).grad, {
    lr: 1e-3,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
  });
  assert.ok(lossOf() < before);
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
  const losses: DistillLoss[] = [
    { kind: 'onehot' },
    { kind: 'kl' },
    { kind: 'temperature', tau: 2 },
    { kind: 'label-smoothing', delta: 0.1 },
    { kind: 'focal', gamma: 1.5 },
    { kind: 'ptloss', eps: randomCoefficients(rng, 3, 3) },
  ];
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

test('early-stopped KD keeps the best validation checkpoint', () => {
  const data = makeGaussianData(8, { classes: 3, dim: 30, sigma: 2, points: 600, split: [0.8, 0.1, 0.1] });
  const teacher = data.train.pStar;
  const r = trainStudent(
    { x: data.train.x, labels: data.train.y, teacher },
    { kind: 'eskd', patience: 1 },
    {
      epochs: 6,
      seed: 2,
      val: { x: data.val.x, labels: data.val.y },
    },
  );
  assert.ok(r.keptEpoch >= 1 && r.keptEpoch <= 6);
  assert.ok(r.losses.length >= r.keptEpoch);
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
