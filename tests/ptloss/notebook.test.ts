/**
 * The PTLoss walkthrough executes headless on the efflab kernel with the small `ci` preset
 * (PTLOSS_QUICK=1), with no cell raising, and produces the figures and tables it promises.
 * Needs the kernelspec and the dist/ build that `npm run setup` installs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertCleanRun, executeNotebook, htmlTables } from '../helpers/notebook';

function text(v: unknown): string {
  return Array.isArray(v) ? v.join('') : String(v ?? '');
}

test('notebooks/04-ptloss.ipynb runs headless with the ci preset', { timeout: 420_000 }, () => {
  const cells = executeNotebook('04-ptloss.ipynb', { PTLOSS_QUICK: '1' }, 400);
  const { outputs } = assertCleanRun(cells);
  const plots = outputs.filter((o) => o.data?.['application/vnd.plotly.v1+json'] !== undefined);
  // Fig. 4.2a, 4.2b, links, live search, simplex, Fig. 4.3a, Fig. 4.3b.
  assert.ok(plots.length >= 7, `only ${plots.length} plotly figures`);
  const plain = outputs.map((o) => text(o.data?.['text/plain'])).join('\n');
  assert.match(plain, /scatterternary/, 'simplex view missing');
  assert.match(plain, /Q̂ per trial \(20 done\)/, 'live search plot did not reach its final state');
  assert.match(plain, /PTLoss/);
  assert.match(plain, /Fig\. 4\.3b: proxy distance and student accuracy/, 'claims table missing');
  assert.match(plain, /PRESET: 'quick'/);

  // The values a reader sees: accuracies are percentages with a spread, the claims table is complete.
  const tables = htmlTables(cells);
  const acc = tables.find((t) => t[0].includes('test accuracy % (mean ± std)'));
  assert.ok(acc, 'accuracy table missing');
  const col = acc[0].indexOf('test accuracy % (mean ± std)');
  const methods = acc.slice(1).map((r) => r[acc[0].indexOf('method')]);
  assert.ok(methods.includes('One-hot') && methods.includes('KD (KL)'), `methods: ${methods.join(', ')}`);
  assert.ok(
    methods.some((m) => /^PTLoss/.test(m)),
    'a PTLoss row',
  );
  for (const r of acc.slice(1)) {
    const m = /^(\d+\.\d+) ± (\d+\.\d+)$/.exec(r[col]);
    assert.ok(m, `accuracy cell '${r[col]}' is not 'mean ± std'`);
    const [mean, sd] = [Number(m[1]), Number(m[2])];
    // 3 classes: a student below 20% or a spread above 50 points means the run is broken.
    assert.ok(mean >= 20 && mean <= 100 && sd >= 0 && sd <= 50, `${r.join(' | ')}`);
  }
  const claims = tables.find((t) => t[0].includes('claim') && t[0].includes('holds'));
  assert.ok(claims, 'claims table missing');
  assert.equal(claims.length - 1, 4, 'four claims');
  for (const r of claims.slice(1))
    assert.ok(['yes', 'no'].includes(r[claims[0].indexOf('holds')]), r.join(' | '));
  // The PTLoss claim names what the quick preset searched (orders 1..2 × 10 draws), not "3-order", and the
  // order chosen for each of its two teachers, each within 1..2.
  const ptClaim = claims
    .slice(1)
    .map((r) => r[claims[0].indexOf('claim')])
    .find((c) => c.startsWith('PTLoss'));
  const m =
    /^PTLoss \(orders 1\.\.2 × 10 draws searched; chosen order per teacher: ([12]), ([12])\) beats the baselines$/.exec(
      ptClaim ?? '',
    );
  assert.ok(m, `PTLoss claim label '${ptClaim}'`);
  assert.doesNotMatch(plain + claims.flat().join(' '), /3-order/);
  // The simplex figure names the selected trial and order as the search cell reported them, and its
  // title sits above the ternary's domain (no overlap with the top vertex's label).
  const found = /bestTrial: (\d+),\s*order: (\d)/.exec(plain);
  assert.ok(found, 'search result printed');
  assert.equal(m[1], found[2], 'the first teacher of the claims row is the search cell’s teacher');
  const tern = plots
    .map(
      (o) => o.data?.['application/vnd.plotly.v1+json'] as { layout?: Record<string, unknown> } | undefined,
    )
    .find((p) => JSON.stringify(p?.layout ?? {}).includes('"ternary"'));
  const lay = tern?.layout as
    | {
        title: { text: string; y: number; yanchor: string };
        ternary: { domain: { y: number[] } };
        margin: { t: number };
      }
    | undefined;
  assert.ok(lay, 'ternary layout');
  assert.equal(
    lay.title.text,
    `Teacher → proxy teacher (trial ${found[1]}, order ${found[2]}) vs p*, test points`,
  );
  assert.ok(
    lay.title.yanchor === 'top' &&
      lay.title.y >= 0.95 &&
      lay.ternary.domain.y[1] <= 0.85 &&
      lay.margin.t >= 80,
  );
  assert.match(plain, /This run \(preset `quick`, from the preset cell to here\): \d+ s of wall time/);
  const corr = claims.map((r) => r.join(' ')).find((r) => r.includes('mean r ='));
  const rr = Number(/mean r = (-?\d+\.\d+)/.exec(corr ?? '')?.[1]);
  assert.ok(rr >= -1 && rr <= 1, `correlation ${rr}`);
});
