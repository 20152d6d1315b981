import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, ValueError } from '../../src/errors';
import {
  createHead,
  disagreement,
  makeSyntheticTask,
  mcDropoutPasses,
  normalizeMean,
  priorFromMeasures,
  priorWeights,
  Rng,
  splitTask,
  trainWeighted,
  uncertainty,
  type HeadConfig,
} from '../../src/methods/dorm';

test('Eq. 3.4: u is the population variance over the N passes (1/N, not 1/(N−1))', () => {
  const u = uncertainty([
    [1, 2],
    [3, 2],
    [5, 2],
  ]);
  // item 0: passes 1, 3, 5 → mean 3, squared deviations 4, 0, 4 → 8/3 (1/(N−1) would give 4).
  assert.ok(Math.abs(u[0] - 8 / 3) < 1e-15);
  assert.equal(u[1], 0);
  assert.throws(() => uncertainty([[1]]), ValueError);
});

test('Eq. 3.5: q is invariant to rescaling predictions and labels together; the max = min guard', () => {
  const rng = new Rng(2);
  const passes = Array.from({ length: 7 }, () => Array.from({ length: 40 }, () => rng.normal()));
  const labels = Array.from({ length: 40 }, () => rng.normal());
  const q = disagreement(passes, labels);
  for (const [c, b] of [
    [3.5, 0],
    [0.01, -2],
    [250, 7],
  ]) {
    const q2 = disagreement(
      passes.map((p) => p.map((x) => c * x + b)),
      labels.map((x) => c * x + b),
    );
    q.forEach((v, i) => assert.ok(Math.abs(q2[i] - v) <= 1e-9 * Math.max(1, v), `c=${c} item ${i}`));
  }
  // Hand example: passes 0.2, 0.6 → mean 0.4, range 0.4; label 1 → q = 0.6 / 0.4 = 1.5.
  assert.ok(Math.abs(disagreement([[0.2], [0.6]], [1])[0] - 1.5) < 1e-12);
  // max = min: a matching label gives 0, a differing one a large finite q (spread floored at 1e-6).
  const g = disagreement(
    [
      [0.5, 0.5],
      [0.5, 0.5],
    ],
    [0.5, 1],
  );
  assert.equal(g[0], 0);
  assert.ok(Math.abs(g[1] - 0.5 / 1e-6) < 1e-6);
});

test('Eq. 3.6: w⁰ = exp(u − γq) is positive and behaves as the text says in the extreme cases', () => {
  const rng = new Rng(4);
  const u = Array.from({ length: 100 }, () => 3 * rng.next());
  const q = Array.from({ length: 100 }, () => 10 * rng.next());
  const w = priorFromMeasures(u, q, 0.7);
  w.forEach((x, i) => {
    assert.ok(x > 0);
    assert.ok(Math.abs(x - Math.exp(u[i] - 0.7 * q[i])) < 1e-12 * Math.max(1, x));
  });
  // u → ∞, q ≈ 0: the weight grows without bound.
  const big = priorFromMeasures([1, 10, 50], [0, 0, 0], 1);
  assert.ok(big[0] < big[1] && big[1] < big[2] && big[2] > 1e21);
  // u ≈ 0, q → ∞: the weight goes to 0 (and stays ≥ 0).
  const small = priorFromMeasures([0, 0, 0], [1, 10, 1e6], 1);
  assert.ok(small[0] > small[1] && small[1] > small[2] && small[2] >= 0 && small[2] < 1e-300);
  // both large: decided by u against γq.
  assert.ok(priorFromMeasures([20], [10], 1)[0] > 1 && priorFromMeasures([20], [10], 3)[0] < 1);
  assert.throws(() => priorFromMeasures([1], [1], 0), ValueError);
  const n = normalizeMean([1, 2, 3]);
  assert.ok(Math.abs(n[0] - 0.5) < 1e-15 && Math.abs(n[2] - 1.5) < 1e-15);
});

test('MC-dropout prior on a trained head: N passes at the stated rate; flipped pairs get lower w⁰', () => {
  const task = makeSyntheticTask({ pairs: 1500, seed: 3 });
  const split = splitTask(task, { seed: 3 });
  const cfg: HeadConfig = { dim: task.dim, hidden: 32, outputs: 1, dropout: 0.1, loss: 'bt' };
  const fit = trainWeighted(cfg, split.train, { seed: 3 });
  const p = priorWeights(fit.head, fit.params, split.train, { passes: 20, gamma: 1, seed: 1 });
  assert.equal(p.passes, 20);
  assert.equal(p.dropout, 0.1);
  const passes = mcDropoutPasses(fit.head, fit.params, split.train, 20, 1);
  const u = uncertainty(passes);
  u.forEach((x, i) => assert.equal(x, p.u[i]));
  let clean = 0;
  let flipped = 0;
  let nf = 0;
  p.w0.forEach((w, i) => {
    assert.ok(w > 0 || p.q[i] > 700, `w⁰_${i} = ${w}`);
    if (split.train.flipped[i]) {
      flipped += w;
      nf++;
    } else clean += w;
  });
  const mc = clean / (split.train.n - nf);
  const mf = flipped / nf;
  console.log(`METRIC dorm_prior_synthetic mean w0 clean ${mc.toFixed(3)} flipped ${mf.toFixed(3)}`);
  assert.ok(mf < 0.5 * mc, `flipped ${mf} clean ${mc}`);
  const sig = priorWeights(fit.head, fit.params, split.train, { method: 'sigmoid' });
  sig.w0.forEach((w) => assert.ok(w > 0 && w <= Math.exp(0.25)));
  const ens = priorWeights(fit.head, fit.params, split.train, {
    method: 'ensemble',
    passes: 3,
    train: { epochs: 2 },
  });
  assert.equal(ens.passes, 3);
  ens.w0.forEach((w) => assert.ok(w >= 0 && Number.isFinite(w)));
  const noDrop = createHead({ ...cfg, dropout: 0 }, 1);
  assert.throws(() => priorWeights(noDrop, noDrop.params, split.train), ConfigError);
});
