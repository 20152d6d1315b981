/**
 * notebooks/10-models.ipynb executes headless on the efflab kernel and its tables hold what the models
 * really give: the top next token after "The capital of France is" is " Paris" with a probability in
 * (0, 1], the ten probabilities are sorted, and MiniLM's cosine table has a unit diagonal and ranks the
 * paraphrase pair (1, 2) above the unrelated pair (1, 3).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { executeNotebook, htmlTables } from '../helpers/notebook';

test('notebooks/10-models.ipynb runs and its tables hold sane model outputs', { timeout: 300_000 }, () => {
  const cells = executeNotebook('10-models.ipynb', {}, 240);
  const outputs = cells.filter((c) => c.cell_type === 'code').flatMap((c) => c.outputs ?? []);
  const errors = outputs.filter((o) => o.output_type === 'error');
  assert.equal(errors.length, 0, `a cell raised: ${errors.map((e) => `${e.ename}: ${e.evalue}`).join('; ')}`);
  const tables = htmlTables(cells);
  assert.ok(tables.length >= 2, `expected the top-k and cosine tables, found ${tables.length}`);

  const [topHead, ...top] = tables[0];
  const probCol = topHead.indexOf('prob');
  const tokenCol = topHead.indexOf('token');
  assert.ok(probCol >= 0 && tokenCol >= 0, `top-k header ${topHead.join(' | ')}`);
  assert.equal(top.length, 10);
  assert.equal(JSON.parse(top[0][tokenCol]).trim(), 'Paris');
  const probs = top.map((r) => Number(r[probCol]));
  assert.ok(
    probs.every((p) => p > 0 && p <= 1),
    `probabilities ${probs.join(', ')}`,
  );
  for (let i = 1; i < probs.length; i++) assert.ok(probs[i] <= probs[i - 1], 'top-k sorted by probability');

  const [cosHead, ...cos] = tables[1];
  assert.equal(cos.length, 3);
  const col = (j: number): number => cosHead.indexOf(`cos ${j}`);
  const c = (i: number, j: number): number => Number(cos[i - 1][col(j)]);
  for (let i = 1; i <= 3; i++) assert.ok(Math.abs(c(i, i) - 1) <= 1e-3, `diagonal ${i}: ${c(i, i)}`);
  assert.ok(c(1, 2) > c(1, 3) + 0.2, `paraphrase ${c(1, 2)} vs unrelated ${c(1, 3)}`);
  assert.equal(c(1, 2), c(2, 1), 'symmetric');
});
