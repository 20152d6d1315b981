/**
 * The LoRC walkthrough executes headless on the efflab kernel (short text: LORC_QUICK=1), and its
 * cells produce the figures and tables it promises. Needs the kernelspec and dist/ that
 * `npm run setup` installs and builds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { executeNotebook } from '../helpers/notebook';

test('notebooks/05-lorc.ipynb runs headless in quick mode', { timeout: 660_000 }, () => {
  const cells = executeNotebook('05-lorc.ipynb', { LORC_QUICK: '1' }, 600);
  const outputs = cells.filter((c) => c.cell_type === 'code').flatMap((c) => c.outputs ?? []);
  assert.equal(outputs.filter((o) => o.output_type === 'error').length, 0, 'a cell raised');
  const mimes = outputs.flatMap((o) => Object.keys(o.data ?? {}));
  assert.ok(
    mimes.filter((m) => m === 'application/vnd.plotly.v1+json').length >= 4,
    `plotly figures: ${mimes.join(', ')}`,
  );
  assert.ok(
    mimes.some((m) => m.includes('sensitivity')),
    `no layer-sensitivity view among ${mimes.join(', ')}`,
  );
});
