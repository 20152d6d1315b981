/**
 * Data, splits and the WRENCH keyword rules on AG News: the coverage / accuracy figures the issue quotes
 * (computed independently with a plain-Python script over test.csv, see the comments), every tie policy,
 * the summary table and the conflict matrix.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  loadAgNewsItems,
  loadKeywordRules,
  parseKeywordRules,
  stratifiedSplits,
} from '../../src/data/agnews';
import { useSharedData } from './helpers';
import { FileFormatError, ValueError, ConfigError } from '../../src/errors';
import {
  aggregateVotes,
  applyKeywordRules,
  conflictHeatmap,
  ruleSummary,
  selectRows,
  TIE_POLICIES,
  weakLabelQuality,
  type TiePolicy,
} from '../../src/methods/prboost';

useSharedData();
const items = loadAgNewsItems();
const rules = loadKeywordRules();
const lm = applyKeywordRules(items, rules);
const gold = items.map((r) => r.label);

test('AG News: 7,600 rows, 1,900 per class; nine rules with 246 keywords', () => {
  assert.equal(items.length, 7600);
  for (let c = 0; c < 4; c++) assert.equal(items.filter((r) => r.label === c).length, 1900);
  assert.equal(rules.length, 9);
  assert.equal(
    rules.reduce((a, r) => a + r.keywords.length, 0),
    246,
  );
});

// Figures printed by tests/prboost/rule_figures.py (plain Python: csv + json, substring match on the
// lower-cased raw "title description"): coverage 5420/7600; accuracies on the rows each policy labels.
const EXPECTED: Record<TiePolicy, { coverage: number; accuracy: number }> = {
  'majority-first': { coverage: 0.7131578947, accuracy: 0.8108856089 },
  'majority-last': { coverage: 0.7131578947, accuracy: 0.8180811808 },
  'first-firing': { coverage: 0.7131578947, accuracy: 0.8057195572 },
  'last-firing': { coverage: 0.7131578947, accuracy: 0.8038745387 },
  'majority-abstain': { coverage: 0.6255263158, accuracy: 0.8647454775 },
  unanimous: { coverage: 0.6052631579, accuracy: 0.8660869565 },
};

test('keyword rules on the whole file: coverage 71.32 %, majority vote 81.09 % (ties to the first firing rule)', () => {
  const q = weakLabelQuality(aggregateVotes(lm, 4), gold);
  assert.equal(q.covered, 5420);
  assert.equal((100 * q.coverage).toFixed(2), '71.32');
  assert.equal((100 * q.accuracy).toFixed(2), '81.09');
});

test('every tie policy reproduces its independently computed figure (tolerance 1e-9: exact counts)', () => {
  for (const p of TIE_POLICIES) {
    const q = weakLabelQuality(aggregateVotes(lm, 4, p), gold);
    assert.ok(Math.abs(q.coverage - EXPECTED[p].coverage) < 1e-9, `${p} coverage ${q.coverage}`);
    assert.ok(Math.abs(q.accuracy - EXPECTED[p].accuracy) < 1e-9, `${p} accuracy ${q.accuracy}`);
  }
  assert.throws(() => aggregateVotes(lm, 4, 'coin-flip' as TiePolicy), ConfigError);
});

test('stratified splits: 25 % test, 2 % D_l, |D_v| = |D_l|, rest D_u; disjoint, fixed by the seed', () => {
  const labels = items.map((r) => r.label);
  const s = stratifiedSplits(labels, { seed: 1 });
  assert.equal(s.test.length, 1900);
  assert.equal(s.labelled.length, 152);
  assert.equal(s.validation.length, 152);
  assert.equal(s.unlabelled.length, 5396);
  const all = new Set([...s.test, ...s.labelled, ...s.validation, ...s.unlabelled]);
  assert.equal(all.size, 7600);
  for (const part of [s.test, s.labelled, s.validation, s.unlabelled]) {
    const perClass = [0, 1, 2, 3].map((c) => part.filter((i) => labels[i] === c).length);
    assert.ok(Math.max(...perClass) - Math.min(...perClass) <= 1, `unstratified ${perClass.join('/')}`);
  }
  assert.deepEqual(stratifiedSplits(labels, { seed: 1 }), s);
  assert.notDeepEqual(stratifiedSplits(labels, { seed: 2 }).labelled, s.labelled);
  const thesis = stratifiedSplits(labels, { seed: 1, labelled: 0.005 });
  assert.equal(thesis.labelled.length, 38);
  assert.equal(thesis.validation.length, 38);
  assert.throws(() => stratifiedSplits(labels, { test: 0.6, labelled: 0.3 }), ValueError);
});

test('rule summary: per-rule figures match a direct count; conflict matrix symmetric; heatmap figure', () => {
  const s = ruleSummary(lm, ['World', 'Sports', 'Business', 'Sci/Tech'], gold);
  assert.ok(Math.abs(s.coverage - 0.7131578947) < 1e-9);
  assert.equal((100 * s.conflict).toFixed(2), ((100 * 820) / 7600).toFixed(2)); // 820 rows with disagreeing votes
  const m = rules.length;
  for (let j = 0; j < m; j++) {
    let fire = 0;
    let right = 0;
    for (let i = 0; i < lm.rows; i++) {
      const v = lm.votes[i * m + j];
      if (v < 0) continue;
      fire++;
      if (v === gold[i]) right++;
    }
    assert.ok(Math.abs(s.rows[j].coverage - fire / 7600) < 1e-12);
    assert.equal(s.rows[j].correct, right);
    assert.ok(s.rows[j].overlaps >= s.rows[j].conflicts);
    for (let k = 0; k < m; k++) {
      assert.equal(s.conflictMatrix[j][k], s.conflictMatrix[k][j]);
      if (rules[j].label === rules[k].label) assert.equal(s.conflictMatrix[j][k], 0);
    }
  }
  const fig = conflictHeatmap(s);
  assert.equal(fig.data[0].type, 'heatmap');
  // Unknown gold (−1) rows do not count towards accuracy.
  const sub = selectRows(lm, [0, 1, 2]);
  const s2 = ruleSummary(sub, ['a', 'b', 'c', 'd'], [-1, -1, -1]);
  assert.ok(s2.rows.every((r) => r.correct + r.incorrect === 0));
});

test('bad rule files: malformed JSON, empty rule, unknown label, each named', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prb-rules-'));
  const f = path.join(dir, 'bad.json');
  fs.writeFileSync(f, '{"rules": [');
  assert.throws(
    () => loadKeywordRules(f),
    (e: Error) => e instanceof FileFormatError && e.message.includes(f),
  );
  assert.throws(
    () => parseKeywordRules({ rules: [{ id: 'r1', label: 2, keywords: [] }] }, 'x.json'),
    (e: Error) => e instanceof ValueError && /"r1" has no keywords/.test(e.message),
  );
  assert.throws(
    () => parseKeywordRules({ rules: [{ id: 'r2', label: 7, keywords: ['a'] }] }, 'x.json'),
    (e: Error) => e instanceof ValueError && /"r2" has unknown label 7/.test(e.message),
  );
  assert.throws(() => parseKeywordRules([], 'x.json'), FileFormatError);
  fs.rmSync(dir, { recursive: true });
});
