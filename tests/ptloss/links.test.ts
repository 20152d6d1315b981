/**
 * Section 4.4.1 / appendix E: do the derived coefficient choices reproduce the other losses?
 * Each test states what the derivation claims and checks it numerically, including where it fails.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  focalCoefficients,
  focalKdLoss,
  fromRows,
  labelSmoothingCoefficients,
  labelSmoothingKdLoss,
  ptLoss,
  smoothTeacher,
  softmaxRows,
  temperatureApproxLoss,
  temperatureCoefficients,
  temperatureFactor,
  temperatureKdLoss,
  temperatureSoftmax,
  type Matrix64,
} from '../../src/methods/ptloss';

const teacher = fromRows([
  [0.7, 0.2, 0.1],
  [0.3, 0.3, 0.4],
  [0.05, 0.9, 0.05],
]);
const logits = fromRows([
  [1, 0, -0.5],
  [0.2, 0.1, -2],
  [-1, 2, 0.3],
]);

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function negEntropy(p: Matrix64, i: number): number {
  const c = p.shape[1];
  let s = 0;
  for (let j = 0; j < c; j++) s += p.data[i * c + j] * Math.log(p.data[i * c + j]);
  return s;
}

test('focal (Eq. 4.10): values converge to the focal loss as M grows; gradients do not', () => {
  const ps = softmaxRows(logits);
  const focal = focalKdLoss(teacher, logits, 2);
  const errs = [1, 10, 30, 100].map((M) =>
    maxAbs(ptLoss(teacher, logits, focalCoefficients(ps, 2, M)).perExample, focal.perExample),
  );
  for (let i = 1; i < errs.length; i++)
    assert.ok(errs[i] < errs[i - 1], `value error not decreasing: ${errs}`);
  // The remainder is Σ_c pᵗ_c ((1−pˢ_c)^γ − 1) Σ_{m>M} (1−pˢ_c)^m/m; smallest pˢ here is 0.05 → ~1e-5 at M=100.
  assert.ok(errs[3] < 1e-4, `M=100 value error ${errs[3]}`);
  // ε depends on pˢ, so the PTLoss gradient (ε held fixed) is not the focal gradient: the gap stays O(0.1).
  const gradErr = maxAbs(ptLoss(teacher, logits, focalCoefficients(ps, 2, 200)).grad.data, focal.grad.data);
  assert.ok(gradErr > 0.05, `expected the gradient mismatch the derivation ignores, got ${gradErr}`);
  // γ = 0 is plain KL: ε = 0 and both value and gradient agree exactly.
  const g0 = focalKdLoss(teacher, logits, 0);
  const p0 = ptLoss(teacher, logits, focalCoefficients(ps, 0, 3));
  assert.ok(maxAbs(g0.perExample, p0.perExample) < 1e-12 && maxAbs(g0.grad.data, p0.grad.data) < 1e-12);
});

test('label smoothing (Eq. 4.16): gradients converge to the smoothed-KL gradient; values differ by H(pᵗ_ls) − H(pᵗ)', () => {
  const delta = 0.1;
  const ls = labelSmoothingKdLoss(teacher, logits, delta);
  const errs = [1, 10, 100, 400].map((M) =>
    maxAbs(ptLoss(teacher, logits, labelSmoothingCoefficients(teacher, delta, M)).grad.data, ls.grad.data),
  );
  for (let i = 1; i < errs.length; i++)
    assert.ok(errs[i] < errs[i - 1], `gradient error not decreasing: ${errs}`);
  // Truncation after M terms leaves Δp_c (1 − pˢ_c)^M; pˢ_min ≈ 0.04 → ~1e-8 at M = 400.
  assert.ok(errs[3] < 1e-6, `M=400 gradient error ${errs[3]}`);
  const pt = ptLoss(teacher, logits, labelSmoothingCoefficients(teacher, delta, 400));
  const smooth = smoothTeacher(teacher, delta);
  for (let i = 0; i < 3; i++) {
    const shift = negEntropy(teacher, i) - negEntropy(smooth, i);
    assert.ok(Math.abs(pt.perExample[i] - ls.perExample[i] - shift) < 1e-6, `example ${i}`);
  }
  // Where it breaks: a zero teacher probability makes ε_{c,m} = Δp/(m·0).
  assert.throws(() => labelSmoothingCoefficients(fromRows([[1, 0, 0]]), delta, 2), /divides by pᵗ_c/);
});

test('temperature (Eq. 4.13): reproduces the approximated loss E.6 only while |1 − b| < 1, and E.6 is not the temperature loss', () => {
  const tau = 2;
  const tl = fromRows([[0, 0.8]]);
  // Inside the series' radius: b = e^{d_s(1−1/τ)} = e^{0.25} ≈ 1.28 < 2.
  const sl = fromRows([[0, 0.5]]);
  const pt = softmaxRows(tl);
  const shift = negEntropy(pt, 0) - negEntropy(temperatureSoftmax(tl, tau), 0);
  const e6 = temperatureApproxLoss(tl, sl, tau)[0];
  const at = (M: number, s: Matrix64): number =>
    ptLoss(pt, s, temperatureCoefficients(tl, s, tau, M)).perExample[0];
  // PTLoss carries −H(pᵗ) where E.6 has −H(pᵗ_τ): compare after removing that constant.
  assert.ok(Math.abs(at(60, sl) - shift - e6) < 1e-9, `identity with E.6: ${at(60, sl) - shift} vs ${e6}`);
  // Outside the radius (b ≈ 2.7 for d_s = 2) the Maclaurin series of log b diverges: the error grows with M.
  const far = fromRows([[0, 2]]);
  const e6far = temperatureApproxLoss(tl, far, tau)[0];
  const d10 = Math.abs(at(10, far) - shift - e6far);
  const d20 = Math.abs(at(20, far) - shift - e6far);
  assert.ok(d20 > 10 * d10 && d10 > 1, `expected divergence, got ${d10}, ${d20}`);
  // E.6 itself: the factor a is right only for the minority class when |z₁ − z₀| ≫ 0 …
  const f10 = temperatureFactor(10, tau);
  assert.ok(Math.abs(f10.exact / f10.approx - 1) < 0.01);
  const f1 = temperatureFactor(1, tau);
  assert.ok(Math.abs(f1.exact / f1.approx - 1) > 0.1);
  // … but E.6 applies it to both classes, so it misses the real temperature loss by far (and goes negative).
  for (const d of [0.5, 2, 5]) {
    const t2 = fromRows([[0, d]]);
    const s2 = fromRows([[0, 0.8 * d]]);
    const exact = temperatureKdLoss(t2, s2, tau)[0];
    const approx = temperatureApproxLoss(t2, s2, tau)[0];
    assert.ok(Math.abs(approx - exact) > 10 * Math.abs(exact), `d=${d}: E.6 ${approx} vs exact ${exact}`);
  }
  assert.throws(() => temperatureCoefficients(teacher, logits, tau, 2), /Eq. 4.13 is binary/);
});
