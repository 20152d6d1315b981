/**
 * The per-iteration table read back from an experiment file: mean ± sd over seeds computed by hand, the
 * Markdown the closing note pastes, the committed reduced-scale file, and bad files.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../../src/data/paths';
import { FileFormatError, NotFoundError } from '../../src/errors';
import {
  experimentIterationRows,
  experimentIterations,
  experimentReport,
  loadExperiment,
  markdownTable,
  summarise,
} from '../../src/methods/prboost';

const rec = (iteration: number, v: Partial<Record<string, number | null>>) => ({
  iteration,
  candidates: 10,
  acceptedNow: 0,
  rules: 0,
  kappa: null,
  secondsPerDecision: null,
  sigma: null,
  coverage: 0,
  ruleAccuracy: 0,
  newRuleAccuracy: null,
  newlyLabelled: 0,
  err: 0.3,
  alpha: 1,
  modelAccuracy: 0,
  ensembleAccuracy: 0,
  seconds: { propose: 0, annotate: 0, match: 0, train: 0 },
  ...v,
});

const FILE = {
  config: { preset: 'default' },
  seconds: 600,
  preset: 'default',
  seeds: [
    {
      seed: 0,
      records: [
        rec(0, { coverage: 0.7, ruleAccuracy: 0.8, modelAccuracy: 0.82, ensembleAccuracy: 0.82 }),
        rec(1, {
          coverage: 0.8,
          ruleAccuracy: 0.81,
          modelAccuracy: 0.84,
          ensembleAccuracy: 0.85,
          rules: 3,
          acceptedNow: 3,
          kappa: 0.6,
          sigma: 0.2,
        }),
      ],
    },
    {
      seed: 1,
      records: [
        rec(0, { coverage: 0.72, ruleAccuracy: 0.78, modelAccuracy: 0.8, ensembleAccuracy: 0.8 }),
        rec(1, {
          coverage: 0.9,
          ruleAccuracy: 0.79,
          modelAccuracy: 0.86,
          ensembleAccuracy: 0.87,
          rules: 5,
          acceptedNow: 5,
          kappa: 0.8,
          sigma: null,
        }),
      ],
    },
  ],
  summary: [
    { name: 'PRBoost ensemble (test)', mean: 0.86, sd: 0.01414, values: [0.85, 0.87] },
    { name: 'accepted rules', mean: 4, sd: 1.41421, values: [3, 5] },
  ],
  claims: [{ claim: 'coverage rises', holds: false, detail: '71.0 % → 85.0 %' }],
};

test('per-iteration mean ± sd over seeds equals the hand computation (sample sd)', () => {
  const rows = experimentIterations(FILE as never);
  assert.equal(rows.length, 2);
  // iteration 1 coverage: mean (0.8 + 0.9) / 2 = 0.85, sample sd |0.9 − 0.8| / √2 = 0.0707107
  assert.ok(Math.abs(rows[1].coverage.mean - 0.85) < 1e-12);
  assert.ok(Math.abs(rows[1].coverage.sd - 0.1 / Math.SQRT2) < 1e-12);
  assert.equal(rows[1].rules.mean, 4);
  assert.ok(Math.abs(rows[1].kappa.mean - 0.7) < 1e-12);
  // A null (NaN in the run) is left out, not counted as 0: σ of iteration 1 is seed 0's alone.
  assert.equal(rows[1].sigma.mean, 0.2);
  assert.ok(Number.isNaN(rows[0].kappa.mean));
  const text = experimentIterationRows(FILE as never);
  assert.equal(text[1]['D_u coverage %'], '85.0 ± 7.1');
  assert.equal(text[1]['ensemble test acc %'], '86.0 ± 1.4');
  assert.equal(text[0].κ, '–');
});

test('the report is Markdown with the table, the summary and the claims', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prb-exp-'));
  const f = path.join(dir, 'prboost-agnews-default.json');
  fs.writeFileSync(f, JSON.stringify(FILE));
  const md = experimentReport(loadExperiment(f));
  const lines = md.split('\n');
  assert.match(lines[0], /preset "default", seeds 0, 1, 10\.0 min/);
  assert.ok(
    lines.includes(
      '| iteration | seeds | D_u coverage % | rule acc on D_u % | model test acc % | ensemble test acc % | accepted rules (total) | accepted now | κ | σ |',
    ),
  );
  assert.ok(
    lines.includes(
      '| 1 | 2 | 85.0 ± 7.1 | 80.0 ± 1.4 | 85.0 ± 1.4 | 86.0 ± 1.4 | 4.0 ± 1.4 | 4.0 ± 1.4 | 0.70 ± 0.14 | 0.20 ± 0.00 |',
    ),
  );
  assert.ok(lines.includes('| PRBoost ensemble (test) | 86.00 ± 1.41 | % |'));
  assert.ok(lines.includes('- **fails**: coverage rises — 71.0 % → 85.0 %'));
  assert.equal(markdownTable([{ a: 'x|y' }]), '| a |\n| --- |\n| x\\|y |');
});

test('the committed reduced-scale experiment file reads back', () => {
  const f = path.join(repoRoot(), 'bench', 'experiments', 'prboost-agnews-reduced.json');
  const e = loadExperiment(f);
  const raw = JSON.parse(fs.readFileSync(f, 'utf8')) as { seeds: { records: { coverage: number }[] }[] };
  const rows = experimentIterations(e);
  assert.equal(rows.length, raw.seeds[0].records.length);
  const cov0 = raw.seeds.map((s) => s.records[0].coverage);
  assert.ok(Math.abs(rows[0].coverage.mean - cov0.reduce((a, b) => a + b, 0) / cov0.length) < 1e-12);
  assert.match(experimentReport(e), /\| 0 \| 3 \|/);
});

test('a missing or malformed experiment file is a named error', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prb-exp-bad-'));
  assert.throws(() => loadExperiment(path.join(dir, 'none.json')), NotFoundError);
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, '{"seeds": [');
  assert.throws(
    () => loadExperiment(bad),
    (e: Error) => e instanceof FileFormatError && e.message.includes('bad.json'),
  );
  fs.writeFileSync(bad, JSON.stringify({ seeds: [{ seed: 0, records: [{ iteration: 0 }] }] }));
  assert.throws(() => loadExperiment(bad), /seeds\[0\]\.records\[0\] lacks/);
});

test('summarise leaves out a seed whose new rules labelled nothing (no NaN in the summary)', () => {
  const base = (acc: number) =>
    [
      'rule majority vote',
      'weak model, initial rules only',
      'weak model, D_l only',
      'model on D_l ∪ D_v',
    ].map((name) => ({ name, accuracy: acc }));
  const seed = (s: number, newAcc: number | null, cov: number) => ({
    seed: s,
    records: [
      rec(0, { coverage: 0.7, ruleAccuracy: 0.8, ensembleAccuracy: 0.8 }),
      rec(1, { coverage: cov, ruleAccuracy: 0.81, ensembleAccuracy: 0.84, newRuleAccuracy: newAcc }),
    ],
    baselines: base(0.8),
    ablations: [],
    rules: 3,
    seconds: 1,
  });
  const out = summarise('default', [seed(0, 0.9, 0.9), seed(1, 0.8, 0.88), seed(2, null, 0.7)] as never);
  const row = out.summary.find((r) => r.name === 'accuracy of the rows new rules label (D_u)')!;
  assert.ok(Math.abs(row.mean - 0.85) < 1e-12, `mean of the two seeds with new rows, got ${row.mean}`);
  assert.equal(row.n, 2);
  const cov = out.summary.find((r) => r.name === 'D_u coverage, final')!;
  assert.equal(cov.n, 3);
  assert.ok(Math.abs(cov.mean - (0.9 + 0.88 + 0.7) / 3) < 1e-12);
});
