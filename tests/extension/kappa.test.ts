import { test } from 'node:test';
import assert from 'node:assert/strict';
import { annotationAgreement, fleissKappa } from '../../src/widgets/kappa';
import type { Decision } from '../../src/protocol';

// Fleiss (1971)-style worked example as tabulated on Wikipedia's "Fleiss' kappa" page: 10 subjects,
// 14 raters, 5 categories; published P̄ = 0.378, P̄e = 0.213, κ = 0.210.
const worked = [
  [0, 0, 0, 0, 14],
  [0, 2, 6, 4, 2],
  [0, 0, 3, 5, 6],
  [0, 3, 9, 2, 0],
  [2, 2, 8, 1, 1],
  [7, 7, 0, 0, 0],
  [3, 2, 6, 3, 0],
  [2, 5, 3, 2, 2],
  [6, 5, 2, 1, 0],
  [0, 2, 2, 3, 7],
];

test('Fleiss kappa (Eq. B.1) reproduces the published worked example', () => {
  const k = fleissKappa(worked);
  assert.ok(Math.abs(k.pBar - 0.378) < 5e-4, `P̄ = ${k.pBar}`);
  assert.ok(Math.abs(k.pBarE - 0.213) < 5e-4, `P̄e = ${k.pBarE}`);
  assert.ok(Math.abs(k.kappa - 0.21) < 5e-4, `κ = ${k.kappa}`);
  assert.equal(k.subjects, 10);
  assert.equal(k.raters, 14);
});

test('Fleiss kappa by hand on a 3-annotator accept/reject table', () => {
  // Subjects: [3,0] [2,1] [0,3] [1,2]; P_i = (Σ n_ij² − 3)/6 → 1, 1/3, 1, 1/3; P̄ = 2/3.
  // p_accept = 6/12, p_reject = 6/12 → P̄e = 1/2; κ = (2/3 − 1/2)/(1/2) = 1/3.
  const k = fleissKappa([
    [3, 0],
    [2, 1],
    [0, 3],
    [1, 2],
  ]);
  assert.ok(Math.abs(k.pBar - 2 / 3) < 1e-12);
  assert.ok(Math.abs(k.pBarE - 0.5) < 1e-12);
  assert.ok(Math.abs(k.kappa - 1 / 3) < 1e-12);
});

test('annotation agreement counts accept/reject of candidates every annotator judged', () => {
  const d = (annotator: string, candidateId: string, verdict: Decision['verdict']): Decision => ({
    annotator,
    candidateId,
    verdict,
    keptWords: [],
    decidedAt: '2026-01-01T00:00:00.000Z',
  });
  const decisions = [
    ...['a', 'b', 'c'].map((x) => d(x, 'r1', 'accept')),
    d('a', 'r2', 'accept'),
    d('b', 'r2', 'accept'),
    d('c', 'r2', 'reject'),
    ...['a', 'b', 'c'].map((x) => d(x, 'r3', 'reject')),
    d('a', 'r4', 'accept'),
    d('b', 'r4', 'reject'),
    d('c', 'r4', 'reject'),
    d('a', 'r5', 'accept'),
    d('b', 'r5', 'skip'),
    d('c', 'r5', 'accept'),
  ];
  const agr = annotationAgreement(decisions);
  assert.deepEqual(agr.annotators, ['a', 'b', 'c']);
  assert.deepEqual(agr.candidateIds, ['r1', 'r2', 'r3', 'r4']);
  assert.ok(Math.abs(agr.kappa - 1 / 3) < 1e-12, `κ = ${agr.kappa}`);
});

test('bad count tables and too few annotators are rejected with the reason', () => {
  assert.throws(() => fleissKappa([]), /no subjects/);
  assert.throws(() => fleissKappa([[1, 1], [2]]), /row 1 has 1 categories/);
  assert.throws(
    () =>
      fleissKappa([
        [1, 1],
        [3, 0],
      ]),
    /row 1 has 3 ratings, row 0 has 2/,
  );
  assert.throws(() => fleissKappa([[1, 0]]), /at least 2 ratings/);
  assert.throws(() => fleissKappa([[1.5, 0.5]]), /not a count/);
  assert.throws(
    () =>
      annotationAgreement([
        { annotator: 'a', candidateId: 'r', verdict: 'accept', keptWords: [], decidedAt: '' },
      ]),
    /need at least 2 annotators, got 1/,
  );
});
