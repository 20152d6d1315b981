/**
 * The DORM walkthrough runs headless on the efflab kernel with the quick preset (EFFLAB_PRESET=quick): no cell
 * raises, and the tables a reader sees hold sane values. Needs the kernelspec and dist/ build.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertCleanRun, executeNotebook, htmlTables } from '../helpers/notebook';

test('notebooks/03-dorm.ipynb runs headless with the quick preset', { timeout: 600_000 }, () => {
  const cells = executeNotebook('03-dorm.ipynb', { EFFLAB_PRESET: 'quick' }, 580);
  const { outputs, plain } = assertCleanRun(cells);
  assert.match(plain, /preset: 'quick'/);
  // The closing note's figures are written to a results file by the export cell.
  assert.match(plain, /resultsPath: '[^']*export-quick\/results\.json'/);
  const plots = outputs.filter((o) => o.data?.['application/vnd.plotly.v1+json'] !== undefined);
  assert.ok(
    plots.length >= 3,
    `only ${plots.length} plotly figures (prior scatter, shares tracker, clean/flipped view)`,
  );

  const tables = htmlTables(cells);
  const lengths = tables.find((t) => t[0].includes('shorter wins %'));
  assert.ok(lengths, 'length baseline table missing');
  const sw = Number(lengths[1][lengths[0].indexOf('shorter wins %')]);
  assert.ok(sw > 40 && sw < 70, `shorter wins ${sw}`);

  const accTables = tables.filter((t) => t[0].includes('test accuracy % (mean ± sd)'));
  assert.equal(accTables.length, 2, 'a synthetic and a real Table 3.2 analogue');
  for (const t of accTables) {
    const col = t[0].indexOf('test accuracy % (mean ± sd)');
    const methods = t.slice(1).map((r) => r[t[0].indexOf('method')]);
    for (const m of [
      'uniform (SFT)',
      'prior only',
      'bilevel w/o prior',
      'DORM',
      'DORM per source',
      'control: w frozen at 1',
    ])
      assert.ok(methods.includes(m), `row ${m} missing`);
    for (const r of t.slice(1)) {
      const m = /^(\d+\.\d+)(?: ± (\d+\.\d+))?$/.exec(r[col]);
      assert.ok(m, `accuracy cell '${r[col]}'`);
      const mean = Number(m[1]);
      assert.ok(mean >= 20 && mean <= 100, r.join(' | '));
    }
  }
  // Synthetic task: the true-label ceiling is well above chance even at the quick size.
  const syn = accTables[0];
  const ceil = syn.find((r) => r[syn[0].indexOf('method')] === 'ceiling: true labels');
  assert.ok(ceil, 'ceiling row missing');
  const ceilAcc = Number(/^(\d+\.\d+)/.exec(ceil[syn[0].indexOf('test accuracy % (mean ± sd)')])?.[1]);
  assert.ok(ceilAcc > 75, ceil.join(' | '));
  // Shares: each row's end shares sum to 1 (3 decimals each), ρ and AUROC in range.
  const shareTables = tables.filter((t) => t[0].includes('Spearman ρ vs −noise'));
  assert.equal(shareTables.length, 2);
  for (const t of shareTables) {
    for (const r of t.slice(1)) {
      const ends = r.filter((c) => c.includes('→')).map((c) => Number(c.split('→')[1]));
      assert.equal(ends.length, 4);
      assert.ok(Math.abs(ends.reduce((a, b) => a + b, 0) - 1) < 0.003, r.join(' | '));
      const rho = Number(r[t[0].indexOf('Spearman ρ vs −noise')]);
      const au = Number(r[t[0].indexOf('AUROC flipped')]);
      assert.ok(rho >= -1 && rho <= 1 && au >= 0 && au <= 1, r.join(' | '));
    }
  }
  const sweep = tables.find((t) => t[0].includes('mean |w − w⁰|'));
  assert.ok(sweep, 'β sweep table missing');
  assert.equal(Number(sweep[1][sweep[0].indexOf('mean |w − w⁰|')]), 0, 'β = ∞ keeps the prior');
});
