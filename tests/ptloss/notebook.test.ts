/**
 * The PTLoss walkthrough executes headless on the efflab kernel with the small `ci` preset
 * (PTLOSS_QUICK=1), with no cell raising, and produces the figures and tables it promises.
 * Needs the kernelspec and the dist/ build that `npm run setup` installs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { executeNotebook } from '../helpers/notebook';

function text(v: unknown): string {
  return Array.isArray(v) ? v.join('') : String(v ?? '');
}

test('notebooks/04-ptloss.ipynb runs headless with the ci preset', { timeout: 420_000 }, () => {
  const cells = executeNotebook('04-ptloss.ipynb', { PTLOSS_QUICK: '1' }, 400);
  const code = cells.filter((c) => c.cell_type === 'code');
  const outputs = code.flatMap((c) => c.outputs ?? []);
  const errors = outputs.filter((o) => o.output_type === 'error');
  assert.equal(errors.length, 0, `a cell raised: ${errors.map((e) => `${e.ename}: ${e.evalue}`).join('; ')}`);
  assert.ok(
    code.every((c) => (c.outputs ?? []).length > 0),
    'every code cell shows something',
  );
  const plots = outputs.filter((o) => o.data?.['application/vnd.plotly.v1+json'] !== undefined);
  // Fig. 4.2a, 4.2b, links, live search, simplex, Fig. 4.3a, Fig. 4.3b.
  assert.ok(plots.length >= 7, `only ${plots.length} plotly figures`);
  const plain = outputs.map((o) => text(o.data?.['text/plain'])).join('\n');
  assert.match(plain, /scatterternary/, 'simplex view missing');
  assert.match(plain, /Q̂ per trial \(20 done\)/, 'live search plot did not reach its final state');
  assert.match(plain, /PTLoss/);
  assert.match(plain, /Fig\. 4\.3b: proxy distance and student accuracy/, 'claims table missing');
  assert.match(plain, /PRESET: 'ci'/);
});
