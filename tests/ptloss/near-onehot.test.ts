/**
 * Teachers near one-hot (a class with pᵗ ~ 1e-11, as a 100-epoch teacher gives after the 1e-12 floor) made
 * the fused proxy solve stall at a relative residual ~1e-9 whenever the tiny class was the one whose logit
 * is fixed at 0 (its probability then lies on the common-mode direction of the reduced logits). The kernel
 * now fixes the largest class's logit (pivot) and damps the Jacobi-scaled system. These cases come from the
 * thesis-scale run (seed 1, teacher on 450 examples, validation rows 15, 34, 63, 72, 98; trial 0's ε), where
 * all 300 trials had unsolved examples before the change.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  coefficients,
  drawCoefficients,
  fromRows,
  ptLoss,
  Rng,
  solveProxy,
  solveProxyBatch,
} from '../../src/methods/ptloss';
import { fsolveReference, randomTeacher } from './helpers';

const ROWS = [
  [0.9984603106873946, 9.359058748860834e-11, 0.0015396892190148582],
  [1.4031241995460867e-8, 0.6241011357856899, 0.3758988501830681],
  [0.9997877118757462, 4.04366121731e-11, 0.00021228808381719102],
  [0.9971387769579482, 0.0028612230121823155, 2.986956828430859e-11],
  [0.48968568651920175, 0.5103143113680271, 2.1127711482914778e-9],
];
const EPS = coefficients([[2.733755951281637], [2.4588889854494482], [8.670703857438639]]);

test('near-one-hot teachers from the thesis-scale run now converge, checked against the PTLoss gradient and fsolve', () => {
  const t = fromRows(ROWS);
  const r = solveProxy(t, EPS);
  assert.equal(r.failures.length, 0, JSON.stringify(r.failures));
  // Independent check: the gradient of ℓ_PT-M (loss.ts, full logits) vanishes at the proxy. Each class's
  // component is compared with its own scale t_c + p_c (a relative residual of 1e-10 as the solver's test).
  const z = fromRows(
    Array.from({ length: ROWS.length }, (_, i) => {
      const p = Array.from(r.probs.data.subarray(i * 3, i * 3 + 3));
      return p.map((v) => Math.log(v));
    }),
  );
  const g = ptLoss(t, z, EPS).grad.data;
  for (let i = 0; i < ROWS.length; i++)
    for (let c = 0; c < 3; c++) {
      const scale = ROWS[i][c] + r.probs.data[i * 3 + c];
      // ptLoss averages over the batch: the per-example gradient is N times the entry.
      assert.ok(Math.abs(ROWS.length * g[i * 3 + c]) <= 1e-9 * scale, `row ${i} class ${c}: ${g[i * 3 + c]}`);
    }
  // scipy.optimize.fsolve (default xtol 1.49e-8 on the reduced logits): probabilities agree to 1e-7.
  const ref = fsolveReference(t, [EPS]);
  for (let i = 0; i < ROWS.length; i++)
    for (let c = 0; c < 3; c++) {
      if (!ref.ok[0][i]) continue;
      assert.ok(Math.abs(ref.probs[0][i][c] - r.probs.data[i * 3 + c]) < 1e-7, `row ${i} class ${c}`);
    }
});

test('a search over near-one-hot teachers (logit scale 12, pᵗ down to 1e-21) leaves ≤ 0.1% unsolved', () => {
  // Before the pivot: 2,566 of 12,000 (trial, example) pairs unsolved, every one of the 60 trials affected.
  const t = randomTeacher(new Rng(7), 200, 3, 12);
  const draws = drawCoefficients(3, 3, 20, [-1, 10], 3);
  const b = solveProxyBatch(t, draws);
  assert.ok(b.failures.length <= 12, `${b.failures.length} unsolved of ${b.trials * b.examples}`);
});
