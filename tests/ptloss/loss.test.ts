import assert from 'node:assert/strict';
import { ShapeError } from '../../src/errors';
import { test } from 'node:test';
import {
  coefficients,
  klLoss,
  ptLoss,
  Rng,
  softmaxRows,
  zeroCoefficients,
  type CoefficientInput,
  type Matrix64,
} from '../../src/methods/ptloss';
import { randomCoefficients, randomLogits, randomTeacher } from './helpers';

/** Independent KL from its definition: Σ t log(t / softmax(z)). */
function klDirect(t: Matrix64, z: Matrix64): number[] {
  const p = softmaxRows(z);
  const [n, c] = t.shape;
  return Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let j = 0; j < c; j++) s += t.data[i * c + j] * Math.log(t.data[i * c + j] / p.data[i * c + j]);
    return s;
  });
}

/** Eq. 4.7 written out directly from probabilities (no shared code with loss.ts). */
function ptDirect(t: Matrix64, z: Matrix64, eps: CoefficientInput): number[] {
  const p = softmaxRows(z);
  const c = t.shape[1];
  const kl = klDirect(t, z);
  const M = eps.order;
  return kl.map((v, i) => {
    const base = 'examples' in eps ? i * c * M : 0;
    let s = v;
    for (let j = 0; j < c; j++) {
      for (let m = 1; m <= M; m++)
        s += t.data[i * c + j] * eps.values[base + j * M + m - 1] * (1 - p.data[i * c + j]) ** m;
    }
    return s;
  });
}

test('ε = 0 gives exactly the KL loss and gradient softmax(z) − pᵗ', () => {
  const rng = new Rng(3);
  const t = randomTeacher(rng, 50, 4);
  const z = randomLogits(rng, 50, 4);
  const res = ptLoss(t, z, zeroCoefficients(4, 5));
  const kl = klDirect(t, z);
  const p = softmaxRows(z);
  for (let i = 0; i < 50; i++)
    assert.ok(Math.abs(res.perExample[i] - kl[i]) <= 1e-12 * (1 + kl[i]), `example ${i}`);
  for (let i = 0; i < 200; i++) assert.ok(Math.abs(res.grad.data[i] - (p.data[i] - t.data[i])) <= 1e-14);
  // Order 0 (no perturbation) is the same loss.
  const k = klLoss(t, z);
  assert.deepEqual(Array.from(k.perExample), Array.from(res.perExample));
});

test('loss values match Eq. 4.7 evaluated directly, shared and per-example ε', () => {
  const rng = new Rng(4);
  const t = randomTeacher(rng, 20, 3);
  const z = randomLogits(rng, 20, 3);
  const eps = randomCoefficients(rng, 3, 4);
  const direct = ptDirect(t, z, eps);
  const res = ptLoss(t, z, eps);
  direct.forEach((v, i) => assert.ok(Math.abs(res.perExample[i] - v) <= 1e-12 * (1 + Math.abs(v))));
  assert.ok(Math.abs(res.mean - direct.reduce((a, b) => a + b) / 20) < 1e-12);
  const per: CoefficientInput = {
    classes: 3,
    order: 2,
    examples: 20,
    values: Float64Array.from({ length: 120 }, () => rng.uniform(-1, 10)),
  };
  const d2 = ptDirect(t, z, per);
  const r2 = ptLoss(t, z, per);
  d2.forEach((v, i) => assert.ok(Math.abs(r2.perExample[i] - v) <= 1e-12 * (1 + Math.abs(v))));
});

test('analytic logit gradient matches central finite differences', () => {
  const rng = new Rng(5);
  for (const [c, m] of [
    [2, 1],
    [3, 3],
    [5, 5],
  ]) {
    const n = 8;
    const t = randomTeacher(rng, n, c);
    const z = randomLogits(rng, n, c);
    const eps = randomCoefficients(rng, c, m);
    const g = ptLoss(t, z, eps).grad;
    const h = 1e-6;
    for (let i = 0; i < n * c; i++) {
      const zp = { data: z.data.slice(), shape: z.shape };
      const zm = { data: z.data.slice(), shape: z.shape };
      zp.data[i] += h;
      zm.data[i] -= h;
      const row = Math.floor(i / c);
      const fd = (ptLoss(t, zp, eps).perExample[row] - ptLoss(t, zm, eps).perExample[row]) / (2 * h);
      // Central differences: truncation O(h²·ℓ''') plus rounding ~1e-16·ℓ/h; 1e-6 relative covers both.
      assert.ok(
        Math.abs(fd - g.data[i]) <= 1e-6 * (1 + Math.abs(fd)),
        `C=${c} M=${m} entry ${i}: fd ${fd} vs ${g.data[i]}`,
      );
    }
  }
});

test('bad inputs raise errors that name the problem', () => {
  const t = { data: Float64Array.from([0.5, 0.6]), shape: [1, 2] };
  const z = { data: Float64Array.from([0, 0]), shape: [1, 2] };
  assert.throws(() => ptLoss(t, z, zeroCoefficients(2, 1)), /row 0 of teacher sums to 1.1/);
  const t2 = { data: Float64Array.from([0.5, 0.5]), shape: [1, 2] };
  assert.throws(
    () => ptLoss(t2, z, zeroCoefficients(3, 1)),
    /coefficients are for 3 classes but the batch has 2/,
  );
  assert.throws(
    () => ptLoss(t2, { data: Float64Array.from([0, NaN]), shape: [1, 2] }, zeroCoefficients(2, 1)),
    /studentLogits\[0\]\[1\] = NaN/,
  );
  assert.throws(() => coefficients([[1, 2], [3]]), ShapeError);
  assert.throws(
    () => ptLoss(t2, { data: Float64Array.from([0, 0, 0]), shape: [1, 3] }, zeroCoefficients(2, 1)),
    /teacher is \[1, 2\] but studentLogits is \[1, 3\]/,
  );
});
