/**
 * notebooks/02-prboost.ipynb runs headless on the efflab kernel with the quick preset and the simulated
 * annotators, and shows the tables it promises with sane values: the keyword-rule figures of the whole
 * file, a per-iteration table whose coverage does not fall, the baselines beside the ensemble, the
 * ablations and the exported rules. Needs the kernelspec and dist/ (JUPYTER_PATH for a worktree).
 * The LM / MiniLM caches live in <repo>/.cache/prboost; a cold first run computes ~350 embeddings and
 * ~170 LM prompts (about 3 minutes on a quiet 2-core machine).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertCleanRun, executeNotebook, htmlTables } from '../helpers/notebook';
import { useSharedData } from './helpers';

test('notebooks/02-prboost.ipynb runs headless with the quick preset', { timeout: 1_500_000 }, () => {
  useSharedData();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'prb-nb-'));
  const cells = executeNotebook(
    '02-prboost.ipynb',
    { EFFLAB_PRESET: 'quick', EFFLAB_HEADLESS: '1', EFFLAB_PRBOOST_OUT: out },
    1400,
  );
  const { plain } = assertCleanRun(cells);
  assert.match(plain, /PRESET: 'quick'/);
  assert.match(plain, /heatmap/, 'conflict heatmap missing');

  const tables = htmlTables(cells);
  const find = (header: string): string[][] => {
    const t = tables.find((rows) => rows[0]?.includes(header));
    assert.ok(t, `no table with a "${header}" column`);
    return t;
  };
  const col = (t: string[][], name: string): number => t[0].indexOf(name);
  // Rule summary of the whole file and the tie policies.
  const summary = tables.find((rows) => rows.some((r) => r.includes('all rules')))!;
  assert.ok(summary, 'rule summary missing');
  assert.equal(summary.find((r) => r.includes('all rules'))![col(summary, 'coverage %')], '71.32');
  const policies = find('policy');
  const mf = policies.find((r) => r.includes('majority-first'))!;
  assert.deepEqual([mf[col(policies, 'coverage %')], mf[col(policies, 'accuracy %')]], ['71.32', '81.09']);
  // Per-iteration table: iterations 0..3, coverage never falls, accuracies are percentages.
  const iters = tables.filter((rows) => rows[0]?.includes('ensemble acc %')).pop()!;
  assert.equal(iters.length - 1, 4, 'iterations 0-3');
  const cov = iters.slice(1).map((r) => Number(r[col(iters, 'D_u coverage %')]));
  for (let i = 1; i < cov.length; i++) assert.ok(cov[i] >= cov[i - 1], `coverage fell: ${cov.join(' → ')}`);
  for (const r of iters.slice(1)) {
    const e = Number(r[col(iters, 'ensemble acc %')]);
    assert.ok(e > 40 && e <= 100, `ensemble accuracy ${e}`);
  }
  assert.ok(Number(iters[iters.length - 1][col(iters, 'rules')]) > 0, 'no rule accepted in 3 iterations');
  // Baselines beside the ensemble; ablations; exports.
  const cmp = find('test acc %');
  const names = cmp.slice(1).map((r) => r[0 + col(cmp, 'model')]);
  for (const n of ['rule majority vote', 'weak model, D_l only', 'model on D_l ∪ D_v', 'PRBoost ensemble'])
    assert.ok(names.includes(n), `comparison lacks ${n}`);
  const abl = tables.find((rows) => rows[0]?.includes('variant'))!;
  assert.deepEqual(
    abl.slice(1).map((r) => r[col(abl, 'variant')]),
    ['PRBoost', 'w/o ensemble', 'w/o rule', 'w/o self-training'],
  );
  // The figures, for the record of this run.
  for (const t of [iters, cmp, abl]) console.log(t.map((r) => r.join(' | ')).join('\n'));
  const rules = JSON.parse(fs.readFileSync(path.join(out, 'prboost-rules.json'), 'utf8')) as {
    rules: unknown[];
  };
  assert.equal(rules.rules.length, Number(iters[iters.length - 1][col(iters, 'rules')]));
  assert.ok(fs.readFileSync(path.join(out, 'prboost_lfs.py'), 'utf8').includes('def apply_lfs'));
  fs.rmSync(out, { recursive: true, force: true });
});
