/** Boosting weights (Eqs. 2.1-2.3) against values computed by hand. Tolerance 1e-12 (float64 round-off). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  boostStep,
  initialWeights,
  modelCoefficient,
  topWeighted,
  updateWeights,
  weightedError,
} from '../../src/methods/prboost';
import { ShapeError, ValueError } from '../../src/errors';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('Eq. 2.2: K = 4, err = 0.25 → α = ln 3 + ln 3 = 2 ln 3', () => {
  close(modelCoefficient(0.25, 4), 2 * Math.log(3));
  close(modelCoefficient(0.5, 2), 0); // a coin flip on two classes gets weight 0
  close(modelCoefficient(0.75, 4), 0); // random guessing among four classes gets weight 0
  assert.ok(Number.isFinite(modelCoefficient(0, 4)));
  assert.throws(() => modelCoefficient(1.5, 4), ValueError);
  assert.throws(() => modelCoefficient(0.2, 1), ValueError);
});

test('Eqs. 2.3 and 2.1: one of four wrong → err 0.25, its weight ×9 before normalising', () => {
  const w = initialWeights(4);
  assert.deepEqual([...w], [0.25, 0.25, 0.25, 0.25]);
  const s = boostStep(w, [0, 1, 2, 0], [0, 1, 2, 3], 4);
  close(s.err, 0.25);
  close(s.alpha, 2 * Math.log(3));
  // Unnormalised: 0.25·9 = 2.25 for the mistake; sum = 0.75 + 2.25 = 3 → 1/12, 1/12, 1/12, 3/4.
  const raw = updateWeights(w, s.wrong, s.alpha, false);
  close(raw[3], 2.25);
  close(raw[3] / raw[0], 9);
  close(s.weights[0], 1 / 12);
  close(s.weights[3], 0.75);
  close(
    s.weights.reduce((a, b) => a + b, 0),
    1,
  );
  // The next model, wrong on rows 0 and 1, sees err = 2/12.
  close(weightedError(s.weights, [true, true, false, false]), 1 / 6);
});

test('top-n largest weights, ties by index; length checks', () => {
  assert.deepEqual(topWeighted([0.1, 0.4, 0.1, 0.4], 3), [1, 3, 0]);
  assert.deepEqual(topWeighted([1, 2], 10), [1, 0]);
  assert.throws(() => weightedError([1, 1], [true]), ShapeError);
  assert.throws(() => weightedError([0, 0], [true, false]), ValueError);
});
