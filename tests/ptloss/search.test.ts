import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_MIN_SOLVED_FRACTION,
  drawCoefficients,
  fromRows,
  qualityScore,
  Rng,
  scoreCandidates,
  searchCoefficients,
  solveProxy,
  type Matrix64,
} from '../../src/methods/ptloss';
import { randomTeacher } from './helpers';

test('Q̂ on a hand-computed example (Eq. 4.20)', () => {
  // Rows [.5,.5] and [1,0], both labelled 0:
  //   mean ‖p − y‖₂ = (√0.5 + 0)/2 = 0.35355339 → squared 0.125;
  //   (pᵀ log p)² = (ln 0.5)² = 0.48045301 and 0 → mean 0.24022651.
  const p = fromRows([
    [0.5, 0.5],
    [1, 0],
  ]);
  const q = qualityScore(p, [0, 0]);
  assert.ok(Math.abs(q.distanceTerm - 0.125) < 1e-15);
  assert.ok(Math.abs(q.entropyTerm - 0.2402265069591007) < 1e-15);
  assert.ok(Math.abs(q.quality - 0.3652265069591007) < 1e-15);
  assert.equal(q.count, 2);
  // Leaving out the second row: (√0.5)² + (ln 0.5)².
  const only = qualityScore(p, [0, 0], [1, 0]);
  assert.ok(Math.abs(only.quality - (0.5 + Math.log(0.5) ** 2)) < 1e-15);
  assert.throws(() => qualityScore(p, [0, 2]), /label 1 = 2 is not a class index in \[0, 2\)/);
});

function labelled(seed: number, n: number): [Matrix64, Int32Array] {
  const rng = new Rng(seed);
  const t = randomTeacher(rng, n, 3, 1.5);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    // Labels drawn from a sharpened teacher so the search has a real target.
    const u = rng.next();
    const w = [0, 1, 2].map((j) => t.data[i * 3 + j] ** 2);
    const s = w[0] + w[1] + w[2];
    labels[i] = u < w[0] / s ? 0 : u < (w[0] + w[1]) / s ? 1 : 2;
  }
  return [t, labels];
}

test('Algorithm 2: trace order, box, best = first minimum, reproducible from the seed', () => {
  const [t, labels] = labelled(81, 120);
  const seen: number[] = [];
  const res = searchCoefficients(t, labels, {
    maxOrder: 3,
    trialsPerOrder: 7,
    seed: 5,
    onTrial: (r) => seen.push(r.index),
  });
  assert.equal(res.trace.length, 21);
  assert.deepEqual(seen, [...Array(21).keys()]);
  res.trace.forEach((r, i) => {
    assert.equal(r.order, 1 + Math.floor(i / 7));
    for (const v of r.coefficients.values) assert.ok(v >= -1 && v < 10);
    assert.equal(r.unsolved, 0);
    assert.ok(r.eligible);
  });
  const qs = res.trace.map((r) => r.quality);
  const min = Math.min(...qs);
  assert.ok(res.best);
  assert.equal(res.best.index, qs.indexOf(min));
  for (let i = 1; i < 21; i++) assert.ok(res.trace[i].bestSoFar <= res.trace[i - 1].bestSoFar);
  // The winner's Q̂ recomputed independently with the float64 reference solver.
  const again = solveProxy(t, res.best.coefficients);
  const q = qualityScore(again.probs, labels);
  assert.ok(Math.abs(q.quality - res.best.quality) < 1e-9);
  // Same seed, same draws and scores; batching does not change the result.
  const res2 = searchCoefficients(t, labels, {
    maxOrder: 3,
    trialsPerOrder: 7,
    seed: 5,
    batchSize: 4,
  });
  res2.trace.forEach((r, i) => {
    assert.deepEqual(Array.from(r.coefficients.values), Array.from(res.trace[i].coefficients.values));
    assert.ok(Math.abs(r.quality - res.trace[i].quality) < 1e-9);
  });
  const other = drawCoefficients(3, 3, 7, [-1, 10], 6);
  assert.notDeepEqual(Array.from(other[0].values), Array.from(res.trace[0].coefficients.values));
});

test('search does not pick trials with unsolved examples unless asked to', () => {
  const [t, labels] = labelled(82, 40);
  const strict = searchCoefficients(t, labels, {
    maxOrder: 2,
    trialsPerOrder: 3,
    seed: 1,
    settings: { maxIterations: 6 },
  });
  assert.ok(strict.failures.length > 0);
  assert.equal(
    strict.failures.length,
    strict.trace.reduce((s, r) => s + r.unsolved, 0),
  );
  for (const r of strict.trace) if (r.unsolved > 0) assert.equal(r.eligible, false);
  // The winner (if any) is the best trial with every example solved.
  const clean = strict.trace.filter((r) => r.unsolved === 0);
  assert.ok(
    clean.length > 0 && clean.length < strict.trace.length,
    'want a mix of solved and unsolved trials',
  );
  assert.equal(strict.best?.quality, Math.min(...clean.map((r) => r.quality)));
  const lax = searchCoefficients(t, labels, {
    maxOrder: 2,
    trialsPerOrder: 3,
    seed: 1,
    settings: { maxIterations: 6 },
    failurePolicy: 'score-solved',
  });
  assert.ok(lax.best !== undefined);
});

test('search rejects bad arguments', () => {
  const [t, labels] = labelled(83, 10);
  assert.throws(() => searchCoefficients(t, labels, { maxOrder: 0, trialsPerOrder: 1 }), /maxOrder 0/);
  assert.throws(
    () => searchCoefficients(t, labels, { maxOrder: 1, trialsPerOrder: 1, box: [3, 1] }),
    /box \[3, 1\]/,
  );
  assert.throws(
    () => searchCoefficients(t, labels.subarray(0, 5), { maxOrder: 1, trialsPerOrder: 1 }),
    /5 labels for 10 examples/,
  );
});

test('eligibility policy: a trial competes when ≥ 99.9% of examples are solved; failures are reported', () => {
  // 1,000 copies of an easy row (≤ 5 Newton steps under these draws) and k copies of a hard one that needs
  // 6-7 steps in trials 0 and 2: with maxIterations 5 those trials leave exactly k examples unsolved.
  const draws = drawCoefficients(3, 1, 4, [-1, 10], 9);
  const run = (hard: number, minSolvedFraction?: number) => {
    const rows = [...Array(1000).fill([0.7, 0.2, 0.1]), ...Array(hard).fill([0.999, 0.0009, 0.0001])];
    const labels = Int32Array.from(rows, (_, i) => (i % 3 === 0 ? 1 : 0));
    return scoreCandidates(fromRows(rows), labels, draws, {
      settings: { maxIterations: 5 },
      minSolvedFraction,
    });
  };
  const one = run(1);
  assert.deepEqual(
    one.trace.map((r) => r.unsolved),
    [1, 0, 1, 0],
  );
  assert.deepEqual(one.failureSummary, {
    pairs: 2,
    trialsAffected: 2,
    examples: [{ example: 1000, trials: 2 }],
  });
  // 1000/1001 = 0.999001 ≥ 0.999: every trial is eligible under the default.
  assert.equal(DEFAULT_MIN_SOLVED_FRACTION, 0.999);
  assert.deepEqual(
    one.trace.map((r) => r.eligible),
    [true, true, true, true],
  );
  assert.equal(one.eligibleTrials, 4);
  // Trials with a failure are scored on the solved examples only.
  assert.equal(one.trace[0].solvedFraction, 1000 / 1001);
  // 1000/1002 = 0.998 < 0.999: the two affected trials are out.
  const two = run(2);
  assert.deepEqual(
    two.trace.map((r) => r.eligible),
    [false, true, false, true],
  );
  assert.equal(two.best?.quality, Math.min(two.trace[1].quality, two.trace[3].quality));
  // minSolvedFraction 1 is the strict rule (every example solved).
  assert.deepEqual(
    run(1, 1).trace.map((r) => r.eligible),
    [false, true, false, true],
  );
  assert.throws(() => run(1, 1.5), /minSolvedFraction 1\.5 must be in \[0, 1\]/);
});
