/** Sensitivity (Eqs. 5.10, 5.12), rank schedule (Eq. 5.13, Algorithm 3) and the uniform baseline. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  customSchedule,
  logCumulativeKappa,
  normalisedSensitivity,
  overallCompression,
  progressiveDims,
  progressiveSchedule,
  skippedLayers,
  uniformSchedule,
  DEFAULT_SKIP,
  type SkipRule,
} from '../../src/methods/lorc';
import { ConfigError, NonFiniteError, ValueError } from '../../src/errors';

const E = Math.E;
// Hand-made example: per-layer ln(κ_k·κ_v) = [2, 1, 1, 0] → ln κ̃ = [4, 2, 1, 0] (Eq. 5.12).
const KAPPAS = [
  { kappaK: E * E, kappaV: 1 },
  { kappaK: E, kappaV: 1 },
  { kappaK: Math.sqrt(E), kappaV: Math.sqrt(E) },
  { kappaK: 1, kappaV: 1 },
];

test('cumulative condition number in log space (Eq. 5.12)', () => {
  const lc = logCumulativeKappa(KAPPAS);
  lc.forEach((v, i) => assert.ok(Math.abs(v - [4, 2, 1, 0][i]) < 1e-12, `layer ${i}: ${v}`));
  assert.deepEqual(normalisedSensitivity(lc), [1, 0.5, 0.25, 0]);
});

test('Eq. 5.13 by hand: d_max 100, d_min 20 → [100, 60, 40, 20]', () => {
  // d = 100·[1 − (4 − ln κ̃)/4·(1 − 0.2)]
  const d = progressiveDims(logCumulativeKappa(KAPPAS), 100, 20);
  d.forEach((v, i) => assert.ok(Math.abs(v - [100, 60, 40, 20][i]) < 1e-9, `layer ${i}: ${v}`));
});

test('progressive schedule solves d_min for the overall target', () => {
  // Σ d = 100 + (50 + d_min/2) + (25 + 3·d_min/4) + d_min = 175 + 2.25·d_min ≤ 200 at 50% → d_min ≈ 11.1.
  const s = progressiveSchedule(KAPPAS, 100, 0.5, { kind: 'none' }, 1);
  assert.ok(s.achieved >= 0.5 && s.achieved < 0.5 + 4 / 400, `achieved ${s.achieved}`);
  assert.ok(Math.abs((s.dMin ?? 0) - 100 / 9) < 0.6, `d_min ${s.dMin}`);
  assert.deepEqual(s.ranks, [100, 56, 33, 11]);
  // ranks are non-increasing with depth here because κ̃ is.
  for (let i = 1; i < s.ranks.length; i++) assert.ok(s.ranks[i] <= s.ranks[i - 1]);
  assert.equal(overallCompression(s.ranks, 100), s.achieved);
});

test('phase 2: a target Eq. 5.13 cannot reach with d_max = full lowers the top of the range', () => {
  // With d_max = 100, ranks are ≥ [100, 50, 25, 0] + d_min terms: at most 56% compression.
  const s = progressiveSchedule(KAPPAS, 100, 0.7, { kind: 'none' }, 5);
  assert.equal(s.dMin, 5);
  assert.ok(
    (s.top ?? 100) < 100 && s.achieved >= 0.7 && s.achieved < 0.71,
    `top ${s.top}, achieved ${s.achieved}`,
  );
  // Eq. 5.13 with (top, 5) evaluated by hand, rounded.
  const t = s.top ?? 0;
  const want = [t, t - 0.5 * (t - 5), t - 0.75 * (t - 5), 5].map((v) => Math.round(v));
  assert.deepEqual(s.ranks, want);
});

test('uniform baseline: same skipped layers, one rank, same budget', () => {
  const u = uniformSchedule(KAPPAS, 100, 0.5, { kind: 'none' });
  assert.deepEqual(u.ranks, [50, 50, 50, 50]);
  const u2 = uniformSchedule(KAPPAS, 100, 0.5, { kind: 'firstLayers', count: 1 });
  // 100 + 3r ≤ 200 → r = 33.
  assert.deepEqual(u2.ranks, [100, 33, 33, 33]);
  assert.deepEqual(u2.skipped, [true, false, false, false]);
  const p2 = progressiveSchedule(KAPPAS, 100, 0.5, { kind: 'firstLayers', count: 1 });
  assert.equal(p2.ranks[0], 100);
  assert.ok(p2.achieved >= 0.5 && u2.achieved >= 0.5);
});

test('skip rules (Algorithm 3 line 7)', () => {
  assert.deepEqual(skippedLayers(KAPPAS, { kind: 'normalised', above: 0.9 }), [true, false, false, false]);
  assert.deepEqual(skippedLayers(KAPPAS, { kind: 'normalised', above: 0.4 }), [true, true, false, false]);
  assert.deepEqual(skippedLayers(KAPPAS, { kind: 'none' }), [false, false, false, false]);
  // κ_k·κ_v = [e², e, e, 1] > 2 → first three.
  assert.deepEqual(skippedLayers(KAPPAS, { kind: 'layerKappa', above: 2 }), [true, true, true, false]);
  assert.throws(() => skippedLayers(KAPPAS, { kind: 'normalised', above: 1.5 }), /must lie in \[0, 1\]/);
});

test('bad input names the problem', () => {
  assert.throws(() => logCumulativeKappa([{ kappaK: 0.5, kappaV: 2 }]), /layer 0 has kappaK = 0.5/);
  assert.throws(() => logCumulativeKappa([{ kappaK: Infinity, kappaV: 2 }]), /rank-deficient/);
  assert.throws(() => progressiveSchedule(KAPPAS, 100, 1.2), /target compression ratio 1.2/);
  assert.throws(
    () => progressiveSchedule(KAPPAS, 100, 0.6, { kind: 'firstLayers', count: 2 }),
    /target 0.6 unreachable with 2 skipped layers and ranks ≥ 7/,
  );
  assert.throws(() => uniformSchedule(KAPPAS, 100, 0.7, { kind: 'firstLayers', count: 3 }), /unreachable/);
  assert.throws(() => customSchedule(4, 100, new Map([[4, 10]])), /layer 4 outside 0..3/);
  // The project's error classes, also for wrong-typed arguments that slip past the compiler.
  assert.throws(() => logCumulativeKappa([{ kappaK: 0.5, kappaV: 2 }]), ValueError);
  assert.throws(() => logCumulativeKappa([{ kappaK: Infinity, kappaV: 2 }]), NonFiniteError);
  assert.throws(() => progressiveSchedule(KAPPAS, 100, 1.2), ValueError);
  assert.throws(
    () => progressiveSchedule(KAPPAS, 100, '0.5' as unknown as number),
    /target compression ratio 0.5/,
  );
  assert.throws(() => progressiveSchedule(undefined as unknown as [], 100, 0.5), ValueError);
  assert.throws(() => uniformSchedule(KAPPAS, 12.5, 0.5), /d_max must be a positive integer, got 12.5/);
  assert.throws(() => skippedLayers(KAPPAS, { kind: 'deepest' } as unknown as SkipRule), ConfigError);
});

test('a schedule carries the skip rule it was made with', () => {
  const rule: SkipRule = { kind: 'firstLayers', count: 1 };
  assert.deepEqual(progressiveSchedule(KAPPAS, 100, 0.5, rule).skipRule, rule);
  assert.deepEqual(uniformSchedule(KAPPAS, 100, 0.5, rule).skipRule, rule);
  assert.deepEqual(progressiveSchedule(KAPPAS, 100, 0.5).skipRule, DEFAULT_SKIP);
  assert.deepEqual(customSchedule(4, 100, new Map([[1, 10]])).skipRule, { kind: 'none' });
});

test('target 0 keeps everything', () => {
  assert.deepEqual(progressiveSchedule(KAPPAS, 100, 0).ranks, [100, 100, 100, 100]);
  assert.deepEqual(uniformSchedule(KAPPAS, 100, 0).ranks, [100, 100, 100, 100]);
});
